"""The input checks every module shares (bwnumbers._checks)."""

from __future__ import annotations

import pytest

from bwnumbers import ValidationError
from bwnumbers._checks import (
    check_absolute_url,
    check_both_or_neither,
    check_id,
    check_seconds,
    check_secret_url,
    check_whole,
    id_segment,
    is_loopback,
)


@pytest.mark.parametrize("value", [0, -1, True, "5", None, float("nan")])
def test_seconds_refuse_non_positive_and_non_numbers(value: object) -> None:
    """A bool is no number of seconds, and neither is NaN."""
    with pytest.raises(ValidationError, match=r"timeout=.* must be a number of seconds > 0"):
        check_seconds("timeout", value)


def test_seconds_may_allow_zero() -> None:
    check_seconds("first_poll", 0, allow_zero=True)
    check_seconds("timeout", 0.001)
    with pytest.raises(ValidationError, match=">= 0"):
        check_seconds("first_poll", -0.5, allow_zero=True)


@pytest.mark.parametrize("value", [0, 1.0, False, "3"])
def test_whole_numbers(value: object) -> None:
    with pytest.raises(ValidationError, match="must be a whole number of seconds >= 1"):
        check_whole("expiry", value, minimum=1, unit="seconds")


@pytest.mark.parametrize("value", ["", "  ", "a/b", "a?b", 7, None])
def test_ids_are_one_path_segment(value: object) -> None:
    with pytest.raises(ValidationError, match="site_id"):
        check_id("site_id", value)


def test_id_segment_quotes_everything_but_refuses_empty() -> None:
    assert id_segment("order_id", "a b/c?d") == "a%20b%2Fc%3Fd"
    with pytest.raises(ValidationError, match="order_id"):
        id_segment("order_id", " ")


def test_both_or_neither_never_shows_the_values() -> None:
    check_both_or_neither("username", None, "password", None, purpose="for the receiver")
    check_both_or_neither("username", "u", "password", "p", purpose="for the receiver")
    with pytest.raises(ValidationError, match="Give both username= and password=") as info:
        check_both_or_neither("username", None, "password", "hunter2", purpose="for x")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("127.0.0.2", True), ("[::1]", True), ("10.0.0.1", False),
     ("localhost.example", False), ("example.test", False)],
)  # fmt: skip
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_absolute_url() -> None:
    assert check_absolute_url("url", "https://me.test/bw") == "https://me.test/bw"
    for bad in ("/bw", "ftp://me.test", "https://", 3):
        with pytest.raises(ValidationError, match="absolute http"):
            check_absolute_url("url", bad)


def test_secret_url_refuses_what_would_leak_credentials() -> None:
    check = check_secret_url
    assert check("base_url", "https://a.test/api/", example="x", allow_insecure_http=False) == (
        "https://a.test/api"
    )
    assert check("base_url", "http://[::1]:8/api", example="x", allow_insecure_http=False)
    assert check("base_url", "http://a.test", example="x", allow_insecure_http=True)
    for url, message in (
        ("http://a.test/api", "allow_insecure_http"),
        ("https://u:p@a.test", "credentials"),
        ("https://a.test/api#top", "fragment"),
        ("a.test/api", "not an http"),
    ):
        with pytest.raises(ValidationError, match=message) as info:
            check("base_url", url, example="x", allow_insecure_http=False)
        assert ":p@" not in str(info.value)
