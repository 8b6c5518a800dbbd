"""Listing what tuneops manages, whatever the service does with a list's filter.

A List request's `filter` is documented for some services and only as "The standard list
filter" for ListTuningJobs (genai_tuning_service.proto), which no Google sample uses. A
service may honour it, ignore it (and return other teams' jobs) or refuse it. So every list
tuneops makes goes through here: the filter asks for the labels it wants, every resource
that comes back is checked for those labels again, and a filter refused with
INVALID_ARGUMENT is dropped and the list made without it. Nothing that lacks tuneops' labels
ever reaches planning, so nothing tuneops did not launch is ever acted on.

Each location is listed on a thread of its own, and every page is as large as the service
serves: the cost of observing is one round trip a thousand resources, however many regions a
kind tunes in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from reconciler.backends.calls import Caller, retry_policy
from reconciler.core import labels as managed

T = TypeVar("T")
P = TypeVar("P")
# At most this many list calls in flight at once (one per location).
PARALLEL_LISTS = 16
# The page size every list asks for. No list tuneops makes documents a maximum (each says
# "The standard list page size": ListTuningJobsRequest, ListPipelineJobsRequest,
# ListModelsRequest in googleapis google/cloud/aiplatform/v1), and Google's API rules make an
# oversized page_size safe: "the API should coerce the page size to the maximum permitted
# page size", never refuse it (https://google.aip.dev/158). So tuneops asks for many and pages
# through whatever each page brings; pages are fetched one after another (a token is opaque),
# so at 100 the 10 pages of 1,000 jobs cost 10 round trips. A service that refuses the size
# anyway gets the plainest request (below).
PAGE_SIZE = 1000


def label_filter(wanted: Mapping[str, str]) -> str:
    """The AIP-160 filter for resources carrying every label of `wanted`."""
    return " AND ".join(f'labels.{key}="{value}"' for key, value in wanted.items())


def carries(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """Whether `labels` holds every key and value of `wanted`: the client's own check."""
    return all(labels.get(key) == value for key, value in wanted.items())


def managed_list(caller: Caller, what: str, method: Callable[..., Iterable[Any]],
                 request: dict[str, Any], convert: Callable[[Any], T], *,
                 wanted: Mapping[str, str] = managed.MANAGED) -> list[T]:
    """Every resource of one list call carrying the `wanted` labels (tuneops' own by
    default), however the service treats the filter asking for them and the page size."""
    from google.api_core import exceptions  # noqa: PLC0415

    # From the most the service is asked to do to the least: a request it refuses with
    # INVALID_ARGUMENT (a filter, or a page size, it does not take) is made plainer, and
    # tuneops keeps its own resources by their labels whatever comes back.
    plainer = [{**request, "page_size": PAGE_SIZE, "filter": label_filter(wanted)},
               {**request, "page_size": PAGE_SIZE}, request]

    def listed(body: dict[str, Any]) -> list[Any]:
        return [item for item in method(request=body, retry=retry_policy())
                if carries(item.labels, wanted)]

    def attempt() -> list[Any]:
        for body in plainer[:-1]:
            try:
                return listed(body)
            except exceptions.InvalidArgument:
                continue
        return listed(plainer[-1])

    return [convert(item) for item in caller(what, attempt)]


def each_location(locations: Iterable[P], list_one: Callable[[P], list[T]]) -> list[T]:
    """`list_one` of every location (or any place a list call reads), concurrently, in the
    order of `locations`."""
    places = list(locations)
    if len(places) <= 1:
        return [item for place in places for item in list_one(place)]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_LISTS, len(places)),
                            thread_name_prefix="tuneops-list") as pool:
        return [item for found in pool.map(list_one, places) for item in found]
