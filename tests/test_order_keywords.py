"""The order keywords agree: one name, one type and one default in every signature taking them."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable

import attrs
import pytest

from bwnumbers import NumbersClient, OrderRequest, order_and_wait

KEYWORDS = (
    "site_id",
    "numbers",
    "search",
    "name",
    "customer_order_id",
    "peer_id",
    "partial_allowed",
    "back_order_requested",
    "reservation_ids",
)


def keywords(function: Callable[..., object]) -> dict[str, tuple[object, object, object]]:
    """Each order keyword's (resolved type, default, kind) in *function*'s signature."""
    hints = typing.get_type_hints(function)
    parameters = inspect.signature(function).parameters
    return {
        name: (hints[name], parameters[name].default, parameters[name].kind) for name in KEYWORDS
    }


@pytest.mark.parametrize("function", [NumbersClient.create_order, order_and_wait])
def test_order_keywords_agree_with_order_request_build(function: Callable[..., object]) -> None:
    assert keywords(function) == keywords(OrderRequest.build)


def test_order_keywords_are_the_fields_of_an_order_request() -> None:
    assert {field.name for field in attrs.fields(OrderRequest)} == set(KEYWORDS)
