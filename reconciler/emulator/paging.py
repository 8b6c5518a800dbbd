"""List pagination: stable (create_time, name) ordering and opaque keyset page tokens.

The token holds the ordering key of the last item served rather than an offset, so creating
resources between page fetches never makes a client skip or repeat an item.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from reconciler.emulator.errors import invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

T = TypeVar("T")
SortKey = tuple[float, str]


def paginate(
    items: Sequence[T], key: Callable[[T], SortKey], page_size: int, page_token: str
) -> tuple[list[T], str]:
    """Returns one page of `items` (any order) and the token of the next page ("" if last)."""
    if page_size < 0:
        raise invalid(f"page_size must not be negative, got {page_size}")
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)  # AIP-158: clamp, don't reject
    ordered = sorted(items, key=key)
    if page_token:
        after = _decode(page_token)
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:size]
    more = len(ordered) > size
    return page, _encode(key(page[-1])) if more else ""


def filtered_page(
    listed: Sequence[tuple[SortKey, T]], keep: Callable[[T], bool], page_size: int,
    page_token: str,
) -> tuple[list[T], str]:
    """One page of the listed resources that pass a List request's filter."""
    kept = [(key, item) for key, item in listed if keep(item)]
    page, token = paginate(kept, lambda pair: pair[0], page_size, page_token)
    return [item for _, item in page], token


def _encode(key: SortKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode(token: str) -> SortKey:
    try:
        create_time, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(name, str):
            raise TypeError(name)
        return float(create_time), name
    except (binascii.Error, ValueError, TypeError) as err:
        raise invalid(f"invalid page_token {token!r}") from err
