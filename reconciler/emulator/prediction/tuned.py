"""What each tuned Model learned from, and how it is asked.

Vertex AI knows which tuning run made a Model and what serves it; the emulator keeps just
that: the training dataset its run read and the PredictionService method its Endpoint
answers (GenerateContent for a model Vertex AI serves itself, Predict for one served by a
container). Written by the service whose run registered the Model (in the transaction that
registers it) and read by PredictionService, which answers from it.
"""

from __future__ import annotations

import sqlite3

GENERATE_CONTENT = "GenerateContent"
PREDICT = "Predict"

TABLES = """
CREATE TABLE IF NOT EXISTS tuned_models (
    model TEXT PRIMARY KEY,
    training_dataset_uri TEXT NOT NULL,
    serves TEXT NOT NULL
);
"""


def remember(conn: sqlite3.Connection, model: str, training_dataset_uri: str,
             serves: str = GENERATE_CONTENT) -> None:
    """That the Model `model` (unversioned name) was tuned on `training_dataset_uri` and
    answers the method `serves`."""
    conn.execute("INSERT OR REPLACE INTO tuned_models (model, training_dataset_uri, serves) "
                 "VALUES (?, ?, ?)", (model, training_dataset_uri, serves))


def training_data(conn: sqlite3.Connection, model: str) -> tuple[str, str] | None:
    """(training dataset, the method it answers) of a tuned Model, or None."""
    found = conn.execute("SELECT training_dataset_uri, serves FROM tuned_models "
                         "WHERE model = ?", (model,)).fetchone()
    return None if found is None else (str(found[0]), str(found[1]))
