"""PURE: field-level differences between what runs and what git says, via deepdiff."""

from __future__ import annotations

from typing import Any

from reconciler.plan.actions import Change


def _value(value: Any) -> Any:
    from deepdiff.helper import NotPresent  # noqa: PLC0415

    return None if isinstance(value, NotPresent) else value


def _changes(before: dict[str, Any], after: dict[str, Any], *, forces_retune: bool
             ) -> list[Change]:
    if before == after:
        return []  # DeepDiff costs far more than an equality check that is usually true
    # Imported here: deepdiff (and the asyncio it pulls in) costs 50 ms at every start,
    # and only a plan with a changed job needs it.
    from deepdiff import DeepDiff  # noqa: PLC0415

    diff = DeepDiff(before, after, ignore_numeric_type_changes=True, view="tree")
    return [
        Change(field=".".join(str(part) for part in level.path(output_format="list")),
               before=_value(level.t1), after=_value(level.t2), forces_retune=forces_retune)
        for report in diff.values() for level in report
    ]


def changes(before_inputs: dict[str, Any], before_metadata: dict[str, Any],
            after_inputs: dict[str, Any], after_metadata: dict[str, Any]) -> tuple[Change, ...]:
    """Every changed leaf, `labels.team` style; weight inputs force a re-tune, metadata not."""
    found = (_changes(before_inputs, after_inputs, forces_retune=True)
             + _changes(before_metadata, after_metadata, forces_retune=False))
    return tuple(sorted(found, key=lambda change: (not change.forces_retune, change.field)))
