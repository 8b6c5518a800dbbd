"""Rules that were written out in several places, each now written once."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

from reconciler.backends.calls import retry_policy, transient_errors
from reconciler.core.resources import ResourceName, id_of, location_of, parse
from reconciler.emulator import sqlite
from tests.test_kinds_seam import docstrings

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reconciler"


def _modules() -> dict[str, ast.Module]:
    return {str(path.relative_to(ROOT)): ast.parse(path.read_text(encoding="utf-8"))
            for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _where(found: set[str]) -> set[str]:
    return {place.split(":")[0] for place in found}


def test_one_sqlite_transaction_helper() -> None:
    """Both emulators' databases take their transactions from emulator/sqlite.py: no other
    module says BEGIN, COMMIT or ROLLBACK."""
    found = {f"{path}:{node.lineno}" for path, tree in MODULES.items()
             for node in ast.walk(tree) if isinstance(node, ast.Constant)
             and isinstance(node.value, str) and id(node) not in docstrings(tree)
             and any(word in node.value for word in ("BEGIN", "COMMIT", "ROLLBACK"))}
    assert _where(found) == {"reconciler/emulator/sqlite.py"}
    users = {path for path, tree in MODULES.items()
             for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module == "reconciler.emulator" and any(a.name == "sqlite"
                                                              for a in node.names)}
    assert users >= {"reconciler/emulator/db.py", "reconciler/emulator/gcs/db.py"}


def test_a_failed_write_rolls_back_and_a_read_changes_nothing(tmp_path: Path) -> None:
    conn = sqlite.connect(tmp_path / "t.sqlite", 1.0)
    sqlite.create_tables(conn, "CREATE TABLE IF NOT EXISTS t (v INTEGER);")
    with sqlite.write(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError), sqlite.write(conn):
        conn.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError
    with sqlite.read(conn):
        assert conn.execute("SELECT v FROM t").fetchall() == [(1,)]
    assert not conn.in_transaction


def test_a_write_holds_the_lock_from_its_first_statement(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    first, second = sqlite.connect(path, 0.05), sqlite.connect(path, 0.05)
    sqlite.create_tables(first, "CREATE TABLE IF NOT EXISTS t (v INTEGER);")
    # Nothing written yet: BEGIN IMMEDIATE alone keeps a second writer out.
    with sqlite.write(first), pytest.raises(sqlite3.OperationalError, match="locked"), (
            sqlite.write(second)):
        pass
    with sqlite.write(second):  # once the first commits, the second writes
        second.execute("INSERT INTO t VALUES (1)")


TRANSIENT = {error.__name__ for error in transient_errors()}


def test_one_list_of_transient_errors() -> None:
    """The retry policy and a TuningJob's create-once loop retry the same errors: the list is
    written in backends/calls.py only."""
    assert sorted(TRANSIENT) == ["DeadlineExceeded", "InternalServerError", "ResourceExhausted",
                                 "ServiceUnavailable", "TooManyRequests"]
    found = {f"{path}:{node.lineno}" for path, tree in MODULES.items() for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and node.attr in TRANSIENT}
    assert _where(found) == {"reconciler/backends/calls.py"}


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_the_retry_policy_retries_each_transient_error(name: str) -> None:
    from google.api_core import exceptions  # noqa: PLC0415

    error = getattr(exceptions, name)("try again")
    assert retry_policy()._predicate(error)
    assert not retry_policy()._predicate(exceptions.InvalidArgument("no"))


def _splits_names(node: ast.AST) -> bool:
    """`x.split("/")[3]`, `x.rsplit("/", 1)[-1]`, `x.split("@", 1)[0]`..."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("split", "rsplit")
            and bool(node.args) and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and any(mark in node.args[0].value for mark in ("/", "@")))


def test_one_resource_name_parser() -> None:
    """Resource names are taken apart by core/resources.py (the product) and, since the
    emulator imports nothing of the product, by emulator/names.py (the emulator). The
    storage emulator's URL paths are not resource names."""
    found = {f"{path}:{node.lineno}" for path, tree in MODULES.items()
             if not path.startswith("reconciler/emulator/gcs/")
             for node in ast.walk(tree) if _splits_names(node)}
    assert _where(found) <= {"reconciler/core/resources.py", "reconciler/emulator/names.py"}, (
        sorted(found))


def test_resource_names() -> None:
    model = "projects/p/locations/europe-west4/models/123@1"
    assert parse(model) == ResourceName("p", "europe-west4", "models", "123", "1")
    assert parse(model).unversioned == "projects/p/locations/europe-west4/models/123"
    job = "projects/p/locations/us-central1/pipelineJobs/snippets-0123456789ab-r2"
    assert (location_of(job), id_of(job)) == ("us-central1", "snippets-0123456789ab-r2")
    with pytest.raises(ValueError, match="not a Vertex AI resource name"):
        parse("projects/p/models/1")
