"""SearchCriteria: one typed vocabulary for Search and search_available_numbers' keywords."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

from bwnumbers import NumbersClient, Search, SearchCriteria, ValidationError
from bwnumbers._search import QUERY_PARAMETERS

if TYPE_CHECKING:
    from aioresponses import aioresponses  # only for annotations: see tests/conftest.py

TYPED_CALLER = """\
from bwnumbers import NumbersClient, Search


async def search(client: NumbersClient) -> None:
    await client.search_available_numbers(area_code="540", quantity=2, lca=None)
    await client.search_available_numbers(area_code=540)
    Search(npa_nxx=540551, state="NC")
    await client.search_available_numbers(areacode="540")
    await client.search_available_numbers(quantity="7", state="NC")
    Search(zip=27606)
"""


def test_search_fields_and_criteria_keys_are_the_same() -> None:
    """Search's fields, SearchCriteria's keys and the query parameters never drift apart."""
    fields = set(attrs.fields_dict(Search))
    assert fields == set(SearchCriteria.__annotations__)
    assert SearchCriteria.__optional_keys__ == fields
    assert set(QUERY_PARAMETERS) == fields


def test_search_accepts_the_types_the_criteria_declare() -> None:
    """Search(...) and search_available_numbers(...) take each criterion as the same type."""
    init = typing.get_type_hints(Search.__init__)
    del init["return"]
    assert init == typing.get_type_hints(SearchCriteria)


@pytest.mark.slow
def test_mypy_flags_a_misspelt_criterion_or_a_wrong_type(tmp_path: Path) -> None:
    """mypy --strict reports areacode= and quantity="7", and nothing in the correct calls."""
    caller = tmp_path / "caller.py"
    caller.write_text(TYPED_CALLER)
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
            "--cache-dir", str(tmp_path / ".mypy_cache"), "--config-file", "", str(caller),
        ],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["8", "9", "10"], result.stdout
    assert 'Unexpected keyword argument "areacode"' in errors[0]
    assert '"quantity"' in errors[1]
    assert '"zip"' in errors[2]
    assert result.returncode == 1


async def test_unknown_keyword_suggests_the_close_one(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """An untyped caller's typo is still a ValidationError that names it and the likely one."""
    criteria: dict[str, typing.Any] = {"areacode": "540"}
    with pytest.raises(ValidationError) as info:
        await client.search_available_numbers(**criteria)
    assert str(info.value).startswith(
        "Unknown search criterion 'areacode' (did you mean 'area_code'?); the known criteria "
        "are area_code, npa_nxx, "
    )
    assert fake_http.requests == {}


def test_unknown_keyword_without_a_close_one_lists_the_known() -> None:
    """A keyword like no criterion gets the list of known criteria and no guess."""
    with pytest.raises(ValidationError) as info:
        Search.from_criteria({"colour": "blue"})
    assert "did you mean" not in str(info.value)
    assert "Unknown search criterion 'colour'; the known criteria are area_code" in str(info.value)
