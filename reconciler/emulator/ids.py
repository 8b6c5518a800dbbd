"""Numeric resource ids, handed out from counters in the settings table.

Vertex ids are large numbers; each service's counters start at their own point, which keeps
the kinds of resource visibly apart.
"""

from __future__ import annotations

import sqlite3

from reconciler.emulator.tables import next_counter

# (the settings key, the first id it hands out)
Counter = tuple[str, int]


def next_id(conn: sqlite3.Connection, counter: Counter) -> int:
    key, first = counter
    return next_counter(conn, key, first)
