"""Pure pieces (filters, paging, label rules) without a server."""

from __future__ import annotations

import pytest

from reconciler.emulator.errors import EmulatorError
from reconciler.emulator.filters import JOB_FIELDS, MODEL_FIELDS, Subject, parse_filter
from reconciler.emulator.labelrules import validate_labels
from reconciler.emulator.paging import paginate

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
    assert parse_filter(text, JOB_FIELDS)(JOB) is expected


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
        parse_filter(text, JOB_FIELDS)
    assert caught.value.code.name == "INVALID_ARGUMENT"


def test_model_filters_have_no_state():
    with pytest.raises(EmulatorError, match="not filterable"):
        parse_filter("state=PIPELINE_STATE_RUNNING", MODEL_FIELDS)


def test_paging_is_keyset_based():
    items = [(float(i // 2), f"n{i}") for i in range(5)]
    page, token = paginate(items[::-1], lambda x: x, 2, "")
    assert page == items[:2]
    # An item inserted before the cursor does not shift the next page.
    page, token = paginate([*items, (0.0, "a-early")], lambda x: x, 2, token)
    assert page == items[2:4]
    page, token = paginate(items, lambda x: x, 2, token)
    assert (page, token) == (items[4:], "")


def test_paging_defaults_and_errors():
    items = [(float(i), "x") for i in range(1200)]
    assert len(paginate(items, lambda x: x, 0, "")[0]) == 50
    assert len(paginate(items, lambda x: x, 5000, "")[0]) == 1000
    with pytest.raises(EmulatorError, match="negative"):
        paginate(items, lambda x: x, -1, "")
    for bad in ("%%%", "bm90IGpzb24=", "WzFd"):  # not base64, not JSON, wrong shape
        with pytest.raises(EmulatorError, match="invalid page_token"):
            paginate(items, lambda x: x, 1, bad)


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
