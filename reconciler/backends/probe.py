"""Read-only probes of what a project's Vertex AI does where its documentation is silent.

`reconcile doctor` asks these; nothing here creates, changes or deletes a Vertex AI
resource. A list's filter is probed by listing one page with tuneops' label filter and one
without: the filtered page holding a resource without the label means the filter is
ignored, INVALID_ARGUMENT means it is refused, and the unfiltered page holding a resource
the filtered one left out is evidence it is honoured (with none, nothing can tell).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal

from reconciler.backends.calls import Caller, retry_policy
from reconciler.backends.listing import carries, label_filter
from reconciler.core import labels as managed

PAGE = 100
Filter = Literal["honoured", "ignored", "rejected", "unknown"]
_NUMBER = re.compile(r"projects/[0-9]+/")


@dataclass(frozen=True)
class ListProbe:
    """How one list treated tuneops' label filter."""

    # What was listed ("tuning jobs in us-central1").
    what: str
    filter: Filter
    # Why, in words.
    evidence: str
    # Whether the names it returned carry the project's number (None: none returned).
    numbered: bool | None = None


def _page(method: Callable[..., Iterable[Any]], request: dict[str, Any]) -> list[Any]:
    """One page, never the whole list (the pager fetches the next page only when asked for
    more): a probe stays cheap in any project."""
    return list(islice(method(request={**request, "page_size": PAGE}, retry=retry_policy()),
                       PAGE))


def probe_list(caller: Caller, what: str, method: Callable[..., Iterable[Any]],
               parent: str) -> ListProbe:
    from google.api_core import exceptions  # noqa: PLC0415

    def look() -> ListProbe:
        unfiltered = _page(method, {"parent": parent})
        numbered = (None if not unfiltered
                    else all(_NUMBER.match(item.name) for item in unfiltered))
        try:
            filtered = _page(method, {"parent": parent,
                                      "filter": label_filter(managed.MANAGED)})
        except exceptions.InvalidArgument as error:
            return ListProbe(what, "rejected", f"INVALID_ARGUMENT: {error.message}", numbered)
        strangers = [item for item in filtered if not carries(item.labels, managed.MANAGED)]
        if strangers:
            return ListProbe(what, "ignored", f"the filtered list returned {len(strangers)} "
                             "resource(s) without the label", numbered)
        left_out = [item for item in unfiltered if not carries(item.labels, managed.MANAGED)]
        if left_out:
            return ListProbe(what, "honoured", f"it left out {len(left_out)} resource(s) "
                             "without the label", numbered)
        return ListProbe(what, "unknown", "no resource without the label exists here to "
                         "tell whether the filter is honoured", numbered)

    return caller(f"probing {what}", look)
