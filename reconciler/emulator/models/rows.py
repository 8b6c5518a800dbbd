"""Model and Endpoint rows, their names and their ids.

Every function takes an open connection, so callers compose them inside one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from google.cloud.aiplatform_v1.types.endpoint import Endpoint
from google.cloud.aiplatform_v1.types.model import Model

from reconciler.emulator.errors import not_found
from reconciler.emulator.ids import next_id
from reconciler.emulator.names import Collection, split
from reconciler.emulator.tables import labels_json, row

MODELS = Collection("models", "model")
ENDPOINTS = Collection("endpoints", "endpoint")
MODEL = ("next_model_id", 1_000_000_000_000_000_001)
ENDPOINT = ("next_endpoint_id", 2_000_000_000_000_000_001)
DEPLOYED_MODEL = ("next_deployed_model_id", 3_000_000_000_000_000_001)

# Models and Endpoints alike: the columns a List filter reads, and the message.
TABLES = "".join(f"""
CREATE TABLE IF NOT EXISTS {table} (
    name TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    create_time REAL NOT NULL,
    display_name TEXT NOT NULL,
    labels TEXT NOT NULL,
    proto BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS {table}_by_parent ON {table} (parent, create_time, name);
""" for table in ("models", "endpoints"))


@dataclass(frozen=True)
class Deployment:
    """One deployment of a registration: its new Endpoint, the DeployedModel's id there, and
    the Model's checkpoint it serves ("" for a Model without checkpoints)."""

    endpoint: str
    deployed_model: str
    checkpoint: str = ""


@dataclass(frozen=True)
class Ids:
    """Numeric ids handed out for one registration: a Model, each deployed to an Endpoint of
    its own."""

    model: str
    deployments: tuple[Deployment, ...]


def registration_ids(conn: sqlite3.Connection, checkpoints: Sequence[str] = ("",)) -> Ids:
    """Ids for a Model and one Endpoint per checkpoint (one, for a Model without them)."""
    model = str(next_id(conn, MODEL))
    return Ids(model, tuple(Deployment(str(next_id(conn, ENDPOINT)),
                                       str(next_id(conn, DEPLOYED_MODEL)), checkpoint)
                            for checkpoint in checkpoints))


def load_model(conn: sqlite3.Connection, name: str) -> Model:
    found = row(conn, "models", name)
    if found is None:
        raise not_found(f"model {name} not found")
    model: Model = Model.deserialize(found)
    return model


def save_model(conn: sqlite3.Connection, model: Model, create_time: float | None = None) -> None:
    """Inserts (given a create_time) or rewrites the model row, keeping the list columns in sync."""
    if create_time is not None:
        conn.execute(
            "INSERT INTO models (name, parent, create_time, display_name, labels, proto) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (model.name, split(model.name).parent, create_time, model.display_name,
             labels_json(model.labels), Model.serialize(model)),
        )
        return
    conn.execute(
        "UPDATE models SET display_name = ?, labels = ?, proto = ? WHERE name = ?",
        (model.display_name, labels_json(model.labels), Model.serialize(model), model.name),
    )


def load_endpoint(conn: sqlite3.Connection, name: str) -> Endpoint:
    found = row(conn, "endpoints", name)
    if found is None:
        raise not_found(f"endpoint {name} not found")
    endpoint: Endpoint = Endpoint.deserialize(found)
    return endpoint


def save_endpoint(
    conn: sqlite3.Connection, endpoint: Endpoint, create_time: float | None = None
) -> None:
    if create_time is not None:
        conn.execute(
            "INSERT INTO endpoints (name, parent, create_time, display_name, labels, proto) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (endpoint.name, split(endpoint.name).parent, create_time,
             endpoint.display_name, labels_json(endpoint.labels), Endpoint.serialize(endpoint)),
        )
        return
    conn.execute(
        "UPDATE endpoints SET display_name = ?, labels = ?, proto = ? WHERE name = ?",
        (endpoint.display_name, labels_json(endpoint.labels), Endpoint.serialize(endpoint),
         endpoint.name),
    )
