"""The Plan as JSON: the `--output json` schema and the saved plan `apply PLANFILE` reads."""

from __future__ import annotations

import json
import stat
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from reconciler.errors import TuneopsError
from reconciler.load.files import kind_of
from reconciler.plan.planner import PLAN_FORMAT_VERSION, Plan

_ADAPTER = TypeAdapter(Plan)


def to_json(plan: Plan) -> dict[str, Any]:
    data: dict[str, Any] = _ADAPTER.dump_python(plan, mode="json")
    data["summary"] = plan.counts
    data["totals"] = asdict(plan.totals)
    return data


def dumps(plan: Plan) -> str:
    return json.dumps(to_json(plan), indent=2, sort_keys=False) + "\n"


def read(path: Path) -> Plan:
    try:
        # Not following a FIFO's open(), which would wait for a writer forever.
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise TuneopsError(f"{path}: is {kind_of(mode)}, not a plan file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TuneopsError(f"{path}: cannot read plan file: {error}") from None
    except RecursionError:
        raise TuneopsError(f"{path}: not a tuneops plan: its JSON nests deeper than Python "
                           "reads") from None
    version = data.get("version") if isinstance(data, dict) else None
    if version != PLAN_FORMAT_VERSION:
        raise TuneopsError(f"{path}: plan format version {version!r}, this reconcile reads "
                           f"version {PLAN_FORMAT_VERSION}; run plan again")
    data.pop("summary", None)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as error:
        raise TuneopsError(f"{path}: not a tuneops plan: {error.errors()[0]['msg']}") from None
