"""The emulator's stock of numbers: seeded, deterministic, searchable by every criterion.

The seed fills every NPA-NXX block of ``LOCALITIES`` with *size* random lines (20 by default),
adds the numbers of Bandwidth's ordering guide, and fills each toll-free NPA with half as many
(rounded up). Orders and ``take()`` remove numbers for good; the numbers taken are remembered so
that a search that comes up short can say the stock ran dry rather than never existed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator

import attrs

from bwnumbers import ValidationError


@attrs.frozen(kw_only=True)
class Locality:
    """Where a block of numbers lives."""

    state: str
    city: str
    rate_center: str
    lata: str
    zip: str
    npa: str
    nxxs: tuple[str, ...]


@attrs.frozen(kw_only=True)
class NumberInfo:
    """One number in stock and its location (toll-free numbers have none)."""

    number: str
    city: str | None = None
    state: str | None = None
    rate_center: str | None = None
    lata: str | None = None
    zip: str | None = None
    tier: str = "0"
    vendor_id: str = "49"
    vendor_name: str = "Bandwidth CLEC"

    @property
    def toll_free(self) -> bool:
        return self.number[:3] in TOLL_FREE_NPAS


TOLL_FREE_NPAS = ("800", "833", "844", "855", "866", "877", "888")

LOCALITIES = (
    Locality(state="VA", city="WASHINGTON", rate_center="WASHINGTON", lata="246", zip="22747",
             npa="540", nxxs=("551", "227")),
    Locality(state="NC", city="RALEIGH", rate_center="RALEIGH", lata="426", zip="27606",
             npa="919", nxxs=("439", "228")),
    Locality(state="NC", city="CARY", rate_center="CARY", lata="426", zip="27513",
             npa="919", nxxs=("234",)),
    Locality(state="NJ", city="RIDGEWOOD", rate_center="RIDGEWOOD", lata="224", zip="07450",
             npa="201", nxxs=("345", "350")),
    Locality(state="MO", city="ST LOUIS", rate_center="STLOUIS", lata="520", zip="63101",
             npa="636", nxxs=("555", "123")),
    Locality(state="UT", city="SALT LAKE CITY", rate_center="SALTLAKECY", lata="660",
             zip="84101", npa="435", nxxs=("477", "709")),
    Locality(state="CA", city="SAN FRANCISCO", rate_center="SNFC CNTRL", lata="722",
             zip="94105", npa="415", nxxs=("555",)),
    Locality(state="TX", city="AUSTIN", rate_center="AUSTIN", lata="558", zip="78701",
             npa="512", nxxs=("555",)),
)  # fmt: skip

# The numbers of Bandwidth's ordering guide, so the demo reads like the guide.
GUIDE_NUMBERS = (
    "5405514342", "5405515330", "5405515329", "5402278098", "5402270905", "5402278089",
    "5402278090",
)  # fmt: skip

_LETTERS = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV",
            "9": "WXYZ"}  # fmt: skip
_KEYPAD = {letter: digit for digit, letters in _LETTERS.items() for letter in letters}


def vanity_pattern(vanity: str, *, ends_in: bool) -> re.Pattern[str]:
    """A regex over ten digits for a vanity such as ``CARS`` (``*``/``_`` match any digit)."""
    digits = "".join(_KEYPAD.get(c.upper(), r"\d" if c in "*_" else re.escape(c)) for c in vanity)
    return re.compile(f"{digits}$" if ends_in else digits)


DEFAULT_SIZE = 20
_LINES_PER_BLOCK = 10_000  # an NPA-NXX block has lines 0000 to 9999


def check_size(size: object) -> None:
    """Raise a ``ValidationError`` saying why, unless *size* is a valid ``inventory_size``."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= _LINES_PER_BLOCK:
        raise ValidationError(
            f"inventory_size={size!r} is not allowed: give a whole number of numbers per "
            f"NPA-NXX block from 1 to {_LINES_PER_BLOCK:,} (default {DEFAULT_SIZE})."
        )


def seeded_blocks() -> list[str]:
    """The NPA-NXX blocks the seed fills, as ``540-551``."""
    return [f"{locality.npa}-{nxx}" for locality in LOCALITIES for nxx in locality.nxxs]


class Inventory:
    """Available numbers by number, in a stable order."""

    def __init__(self, *, seed: int, size: int = DEFAULT_SIZE) -> None:
        check_size(size)
        self._numbers: dict[str, NumberInfo] = {}
        self._taken: dict[str, NumberInfo] = {}
        rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
        for locality in LOCALITIES:
            for nxx in locality.nxxs:
                lines = rng.sample(range(_LINES_PER_BLOCK), size)
                self.add(f"{locality.npa}{nxx}{line:04d}" for line in sorted(lines))
        self.add(GUIDE_NUMBERS)
        for npa in TOLL_FREE_NPAS:
            # Half as many as a local block, which keeps the default stock as it always was.
            lines = rng.sample(range(2_000_000, 10_000_000), (size + 1) // 2)
            self.add(f"{npa}{line:07d}" for line in sorted(lines))
        self.add(["8338760878"])

    def add(self, numbers: Iterable[str], **location: str) -> list[str]:
        """Put *numbers* in stock; locations come from their NPA-NXX block unless given."""
        added = []
        for number in numbers:
            self._numbers[number] = self._describe(number, location)
            self._taken.pop(number, None)
            added.append(number)
        return added

    def _describe(self, number: str, location: dict[str, str]) -> NumberInfo:
        if location:
            return NumberInfo(number=number, **location)
        for locality in LOCALITIES:
            if number.startswith(locality.npa) and number[3:6] in locality.nxxs:
                return NumberInfo(
                    number=number,
                    city=locality.city,
                    state=locality.state,
                    rate_center=locality.rate_center,
                    lata=locality.lata,
                    zip=locality.zip,
                )
        return NumberInfo(number=number)

    def take(self, number: str) -> NumberInfo | None:
        """Remove *number* from stock; ``None`` if it was not available."""
        info = self._numbers.pop(number, None)
        if info is not None:
            self._taken[number] = info
        return info

    def put_back(self, number: str) -> bool:
        """Return a taken *number* to stock (a reservation ended, aging ended); ``False`` if it
        was not taken."""
        info = self._taken.pop(number, None)
        if info is not None:
            self._numbers[number] = info
        return info is not None

    def known(self, number: str) -> NumberInfo | None:
        """*number*'s details whether in stock or taken; ``None`` if this inventory never had it."""
        return self._numbers.get(number) or self._taken.get(number)

    def taken(self) -> list[NumberInfo]:
        """The numbers ordered or taken so far and not put back."""
        return list(self._taken.values())

    def get(self, number: str) -> NumberInfo | None:
        return self._numbers.get(number)

    def __contains__(self, number: object) -> bool:
        return number in self._numbers

    def __iter__(self) -> Iterator[NumberInfo]:
        return iter(list(self._numbers.values()))

    def __len__(self) -> int:
        return len(self._numbers)
