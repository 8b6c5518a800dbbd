"""What each tuned Model learned from: the training dataset its run read.

Vertex AI knows which tuning run made a Model; the emulator keeps just that, written by the
service whose run registered the Model (in the transaction that registers it) and read by
GenerateContent, which answers from it.
"""

from __future__ import annotations

import sqlite3

TABLES = """
CREATE TABLE IF NOT EXISTS tuned_models (
    model TEXT PRIMARY KEY,
    training_dataset_uri TEXT NOT NULL
);
"""


def remember(conn: sqlite3.Connection, model: str, training_dataset_uri: str) -> None:
    """That the Model `model` (unversioned name) was tuned on `training_dataset_uri`."""
    conn.execute("INSERT OR REPLACE INTO tuned_models (model, training_dataset_uri) "
                 "VALUES (?, ?)", (model, training_dataset_uri))


def training_data(conn: sqlite3.Connection, model: str) -> str | None:
    found = conn.execute("SELECT training_dataset_uri FROM tuned_models WHERE model = ?",
                         (model,)).fetchone()
    return None if found is None else str(found[0])
