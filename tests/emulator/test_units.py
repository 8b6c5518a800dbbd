"""Pure pieces (filters, paging, label rules, example checks) without a server."""

from __future__ import annotations

import sqlite3

import pytest

from reconciler.emulator import EmulatorStore
from reconciler.emulator.db import DB_FILE
from reconciler.emulator.errors import EmulatorError
from reconciler.emulator.filters import Subject, parse_filter
from reconciler.emulator.labelrules import validate_labels
from reconciler.emulator.models.model_service import FIELDS as MODEL_FIELDS
from reconciler.emulator.paging import check_order_by, decode_token, page_size, take_page
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.emulator.pipelines.examples import example_problem
from reconciler.emulator.pipelines.service import FIELDS as JOB_FIELDS
from reconciler.emulator.pipelines.store import STATES
from reconciler.emulator.pipelines.validation import CHAT_TEMPLATE, CODE_TEMPLATE
from reconciler.emulator.quirks import Quirks

JOB = Subject({"app": "tuneops", "team": "a"}, "tune", "PIPELINE_STATE_RUNNING")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("   ", True),
        ('labels.app="tuneops"', True),
        ("labels.app=tuneops", True),
        ('labels."app"="tuneops"', True),
        ('labels.app!="tuneops"', False),
        ('labels.missing!="x"', True),
        ("labels.team:*", True),
        ("labels.missing:*", False),
        ('display_name="tune"', True),
        ('display_name="with \\"quotes\\" AND more"', False),
        ("state=PIPELINE_STATE_RUNNING", True),
        ('state!="PIPELINE_STATE_RUNNING"', False),
        ('labels.app="tuneops" AND labels.team="a" AND state=PIPELINE_STATE_RUNNING', True),
        ('labels.app="tuneops" AND labels.team="b"', False),
    ],
)
def test_filter_semantics(text, expected):
    assert parse_filter(text, JOB_FIELDS, STATES.names)(JOB) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('labels.app="x" OR labels.b="y"', "expected AND"),
        ("labels.app", "supported terms"),
        ("create_time>5", "supported terms"),
        ("state=RUNNING", "unknown state"),
        ('labels.app:"x"', "only supported as labels.KEY:"),
        ("display_name:*", "only supported as labels.KEY:"),
        ("labels.app=*", '"\\*" is only supported'),
        ('labels.app="x" AND', "supported terms"),
    ],
)
def test_filter_errors(text, message):
    with pytest.raises(EmulatorError, match=message) as caught:
        parse_filter(text, JOB_FIELDS, STATES.names)
    assert caught.value.code.name == "INVALID_ARGUMENT"


def test_model_filters_have_no_state():
    with pytest.raises(EmulatorError, match="not filterable"):
        parse_filter("state=PIPELINE_STATE_RUNNING", MODEL_FIELDS)


def _rows(keys):
    """Rows as the store's SQL scan yields them: newest first, each (key, row)."""
    return [(key, key) for key in sorted(keys, reverse=True)]


def _after(keys, token):
    after = decode_token(token)
    return _rows([k for k in keys if after is None or k < after])


def test_paging_is_keyset_based_newest_first():
    keys = [(float(i // 2), f"n{i}") for i in range(5)]
    newest = sorted(keys, reverse=True)
    page, token = take_page(_after(keys, ""), lambda _: True, 2)
    assert page == newest[:2]
    # A newer item created between pages does not shift the next page.
    page, token = take_page(_after([*keys, (9.0, "late")], token), lambda _: True, 2)
    assert page == newest[2:4]
    page, token = take_page(_after(keys, token), lambda _: True, 2)
    assert (page, token) == (newest[4:], "")


def test_paging_stops_reading_once_the_page_is_full():
    read = []

    def rows():
        for key in [(float(i), "x") for i in range(100, 0, -1)]:
            read.append(key)
            yield key, key

    page, token = take_page(rows(), lambda key: key[0] % 2 == 0, 3)
    assert [k[0] for k in page] == [100.0, 98.0, 96.0]
    assert token
    assert read[-1] == (94.0, "x")  # up to the first kept row after the page, no further


def test_paging_defaults_and_errors():
    served = Quirks()
    assert page_size(0, served) == 50
    assert page_size(5000, served) == 1000  # AIP-158: coerced to the maximum
    assert page_size(0, Quirks(max_page_size=7)) == 7
    assert page_size(7, Quirks(max_page_size=7, oversized_page="refused")) == 7
    with pytest.raises(EmulatorError, match="over the maximum of 7"):
        page_size(8, Quirks(max_page_size=7, oversized_page="refused"))
    with pytest.raises(EmulatorError, match="negative"):
        page_size(-1, served)
    with pytest.raises(ValueError, match="max_page_size must be at least 1"):
        Quirks(max_page_size=0)
    for bad in ("%%%", "bm90IGpzb24=", "WzFd"):  # not base64, not JSON, wrong shape
        with pytest.raises(EmulatorError, match="invalid page_token"):
            decode_token(bad)
    check_order_by("")
    check_order_by("create_time  DESC")
    with pytest.raises(EmulatorError, match="order_by 'display_name' is not supported"):
        check_order_by("display_name")


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {"app": "tuneops", "empty": ""},
        {"k": "v" * 64, "k" * 64: "v"},
        {"équipe": "données"},  # lowercase international letters
        {"チーム": "データ"},  # letters of a script without case
        {"a_b-c1": "0_-x"},
        {f"k{i}": "v" for i in range(64)},
    ],
)
def test_valid_labels(labels):
    validate_labels(labels, "labels")


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({f"k{i}": "v" for i in range(65)}, "at most 64 labels"),
        ({"App": "x"}, "invalid label key 'App'"),
        ({"1app": "x"}, "invalid label key '1app'"),
        ({"_app": "x"}, "invalid label key '_app'"),
        ({"": "x"}, "invalid label key ''"),
        ({"k" * 65: "x"}, "invalid label key"),
        ({"app": "UPPER"}, "invalid value 'UPPER'"),
        ({"app": "a.b"}, "invalid value 'a.b'"),
        ({"app": "v" * 65}, "invalid value"),
        ({"équipe": "Données"}, "invalid value 'Données'"),
    ],
)
def test_invalid_labels(labels, message):
    with pytest.raises(EmulatorError, match=message):
        validate_labels(labels, "labels")


@pytest.mark.parametrize(
    ("template", "content", "problem"),
    [
        (CODE_TEMPLATE, b'{"input_text": "a", "output_text": "b"}\n\n', None),
        (CODE_TEMPLATE, b"", "has no examples"),
        (CODE_TEMPLATE, b'{"input_text": "a"}\n', "line 1: output_text must be a non-empty"),
        (CODE_TEMPLATE, b'{"input_text": "a", "output_text": ""}', "output_text must be"),
        (CODE_TEMPLATE, b'{"input_text": "a", "output_text": "b"}\n[1]', "line 2 is not a JSON"),
        (CODE_TEMPLATE, b"{oops", "line 1 is not valid JSON"),
        (CODE_TEMPLATE, b"\xff", "not UTF-8"),
        (CHAT_TEMPLATE, b'{"messages": []}', "messages must be a non-empty list"),
        (CHAT_TEMPLATE, b'{"input_text": "a", "output_text": "b"}',
         "messages must be a non-empty list"),
    ],
)
def test_example_problems(template, content, problem):
    found = example_problem(template, content)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem) or problem in found


def test_state_dir_of_an_older_emulator_is_upgraded(tmp_path):
    # An older emulator's jobs table had no failure column; opening it adds the column.
    EmulatorStore(tmp_path)
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        conn.execute("ALTER TABLE jobs DROP COLUMN failure")
    store = EmulatorStore(tmp_path)
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        assert "failure" in {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    assert PipelineJobs(store).all() == []
