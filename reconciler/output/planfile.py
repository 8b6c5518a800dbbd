"""The Plan as JSON: the `--output json` schema and the saved plan `apply PLANFILE` reads."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from reconciler.errors import TuneopsError
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
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TuneopsError(f"{path}: cannot read plan file: {error}") from None
    version = data.get("version") if isinstance(data, dict) else None
    if version != PLAN_FORMAT_VERSION:
        raise TuneopsError(f"{path}: plan format version {version!r}, this reconcile reads "
                           f"version {PLAN_FORMAT_VERSION}; run plan again")
    data.pop("summary", None)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as error:
        raise TuneopsError(f"{path}: not a tuneops plan: {error.errors()[0]['msg']}") from None
