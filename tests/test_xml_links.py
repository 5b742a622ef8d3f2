"""Paging links: only ``page`` and ``size`` are read, whatever host, prefix or escaping."""

from __future__ import annotations

import pytest

from bwnumbers._xml._links import PageCursor, link_cursor, next_page
from bwnumbers._xml._tree import parse_document


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # SPEC /tns sample (reference/lifecycle.md §5), unescaped by the parser.
        (
            "Link=<https://dashboard.bandwidth.com:443/v1.0/tns?account=9500012&page=2012082912"
            '&size=500>;rel="next";',
            PageCursor("2012082912", "500"),
        ),
        # PHP fixture: size before page, a foreign test host.
        (
            "Link=<https://api.test.inetwork.com:443/v1.0/accounts/9500249/inserviceNumbers"
            '?size=500&page=1>;rel="first";',
            PageCursor("1", "500"),
        ),
        # SPEC /sites/{id}/orders: a GUID cursor.
        (
            "Link=<http://localhost:8080/api/accounts/1/sites/2/orders?"
            'page=fa7bc01a-cb4d-4eae-9621-560020f45105&size=30>;rel="next";',
            PageCursor("fa7bc01a-cb4d-4eae-9621-560020f45105", "30"),
        ),
        # A bare URL, no Link= wrapper, no size.
        ("https://example.invalid/api/x?page=7", PageCursor("7", None)),
        ("", None),
        ("   Link description  ", None),
        ('Link=<https://h/api/x?size=2>;rel="next";', None),
    ],
)
def test_link_cursor_reads_page_and_size_only(text: str, expected: PageCursor | None) -> None:
    assert link_cursor(text) == expected


def test_next_page_reads_the_escaped_next_link_of_a_listing() -> None:
    body = (
        b"<TNs><TotalCount>5</TotalCount><Links>"
        b"<first>Link=&lt;https://api.test.inetwork.com:443/v1.0/accounts/9/inserviceNumbers"
        b'?size=2&amp;page=1&gt;;rel="first";</first>'
        b"<next>Link=&lt;https://api.test.inetwork.com:443/v1.0/accounts/9/inserviceNumbers"
        b'?size=2&amp;page=3&gt;;rel="next";</next>'
        b"</Links><TelephoneNumbers><Count>2</Count></TelephoneNumbers></TNs>"
    )
    _, root = parse_document(body, ("TNs",))
    assert next_page(root) == PageCursor("3", "2")


@pytest.mark.parametrize(
    "links",
    [
        b"",
        b"<Links/>",
        b"<Links><first></first><next></next></Links>",
        b"<Links><first>x</first></Links>",
    ],
)
def test_no_next_link_is_the_last_page(links: bytes) -> None:
    _, root = parse_document(b"<TNs>" + links + b"</TNs>", ("TNs",))
    assert next_page(root) is None
