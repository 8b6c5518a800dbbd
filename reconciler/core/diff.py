"""Field-level differences between what runs and what git says, via deepdiff."""

from __future__ import annotations

from typing import Any

from deepdiff import DeepDiff
from deepdiff.helper import NotPresent

from reconciler.core.actions import Change
from reconciler.core.fingerprint import WEIGHT_FIELDS


def _value(value: Any) -> Any:
    return None if isinstance(value, NotPresent) else value


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[Change, ...]:
    """Every changed leaf, `labels.team` style, marked when it changes the tuned weights."""
    diff = DeepDiff(before, after, ignore_numeric_type_changes=True, view="tree")
    found = []
    for report in diff.values():
        for level in report:
            path = level.path(output_format="list")
            found.append(Change(
                field=".".join(str(part) for part in path),
                before=_value(level.t1),
                after=_value(level.t2),
                forces_retune=bool(path) and path[0] in WEIGHT_FIELDS,
            ))
    return tuple(sorted(found, key=lambda change: (not change.forces_retune, change.field)))
