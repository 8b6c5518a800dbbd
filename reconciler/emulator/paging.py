"""List pagination: newest first, with opaque keyset page tokens.

Lists return `create_time desc`, the service's default order (googleapis
google/cloud/aiplatform/v1/pipeline_service.proto, ListPipelineJobsRequest.order_by: "if
order_by is not specified, it will order by default order is create time in descending
order"; models and endpoints list newest first too). Ties break on name, descending.

The token holds the ordering key of the last item served rather than an offset, so creating
resources between page fetches never makes a client skip or repeat an item. Rows arrive
already in that order from SQL, starting after the token, and are decoded only while the page
fills.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from typing import TypeVar

from reconciler.emulator.errors import invalid
from reconciler.emulator.quirks import Quirks

DEFAULT_PAGE_SIZE = 50
DEFAULT_ORDER = "create_time desc"

R = TypeVar("R")
SortKey = tuple[float, str]


def page_size(requested: int, quirks: Quirks) -> int:
    """How many a page holds, as the service is set to serve pages (quirks.max_page_size)."""
    if requested < 0:
        raise invalid(f"page_size must not be negative, got {requested}")
    most = quirks.max_page_size
    if requested > most and quirks.oversized_page == "refused":
        raise invalid(f"page_size {requested} is over the maximum of {most}")
    return min(requested or DEFAULT_PAGE_SIZE, most)


def check_order_by(order_by: str) -> None:
    """Only the default order is served; anything else is refused rather than ignored."""
    if order_by and " ".join(order_by.split()).lower() != DEFAULT_ORDER:
        raise invalid(f"order_by {order_by!r} is not supported; use {DEFAULT_ORDER!r}")


def decode_token(token: str) -> SortKey | None:
    """The key after which the page starts (None: from the newest)."""
    if not token:
        return None
    try:
        create_time, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(name, str):
            raise TypeError(name)
        return float(create_time), name
    except (binascii.Error, ValueError, TypeError) as err:
        raise invalid(f"invalid page_token {token!r}") from err


def take_page(
    rows: Iterable[tuple[SortKey, R]], keep: Callable[[R], bool], size: int
) -> tuple[list[R], str]:
    """The first `size` kept rows of `rows` (already in list order) and the next page token."""
    page: list[R] = []
    last: SortKey | None = None
    for key, row in rows:
        if not keep(row):
            continue
        if len(page) == size:
            assert last is not None
            return page, _encode(last)
        page.append(row)
        last = key
    return page, ""


def _encode(key: SortKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()
