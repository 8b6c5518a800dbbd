"""What a List request keeps: its filter, as the service is set to treat filters, and the
lag before a new resource shows in lists (quirks.Quirks.list_filter, list_lag_seconds)."""

from __future__ import annotations

from reconciler.emulator import clock
from reconciler.emulator.errors import invalid
from reconciler.emulator.filters import Predicate, Subject, parse_filter
from reconciler.emulator.service import State
from reconciler.emulator.tables import stored_quirks


def kept(state: State, text: str, fields: frozenset[str],
         states: frozenset[str] = frozenset()) -> Predicate:
    """The resources a List with filter `text` returns; INVALID_ARGUMENT for a filter the
    service refuses."""
    with state.db.read() as conn:
        quirks = stored_quirks(conn)
        now = clock.clock_now(conn)
    if quirks.list_filter == "rejected" and text.strip():
        raise invalid(f"invalid filter {text!r}: filtering is not supported on this list")
    matches = (_everything if quirks.list_filter == "ignored"
               else parse_filter(text, fields, states))
    if not quirks.list_lag_seconds:
        return matches
    horizon = now - quirks.list_lag_seconds
    return lambda subject: subject.create_time <= horizon and matches(subject)


def _everything(_: Subject) -> bool:
    return True
