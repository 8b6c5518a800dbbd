"""PURE: a Model compared with git: what differs, whether it is this job's, and its patch."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core import labels as managed
from reconciler.core.desired import DesiredJob
from reconciler.core.fingerprint import metadata_digest
from reconciler.core.observed import ObservedJob, ObservedModel
from reconciler.plan import diff
from reconciler.plan.actions import Action, Change, DriftRestore, ModelPatch, Noop, Update


def identity_labels(job: DesiredJob) -> dict[str, str]:
    """The labels by which the list call finds a Model as this job's."""
    return {managed.MANAGED_BY: managed.MANAGER, managed.NAME: job.name,
            managed.FINGERPRINT: job.fingerprint}


@dataclass(frozen=True)
class ModelView:
    """A Model compared with git: its patch, what differs, and whether tuneops' labels say
    it is this job's (under the name of one of its runs: a rename may not reach labels)."""

    patch: ModelPatch
    found: tuple[Change, ...]
    identified: bool
    edited: bool


def model_view(job: DesiredJob, decided: ObservedJob, model: ObservedModel,
               names: set[str]) -> ModelView:
    # Labels tuneops owns: those in git now and those its run was launched with. Labels the
    # service adds (tune-type, billing ids) or another tool or person sets are never
    # compared, reported or removed.
    owned = set(job.metadata["labels"]) | set(decided.metadata["labels"])
    live_labels = {key: value for key, value in model.labels.items() if key in owned}
    display_name, user_labels = job.metadata["model_display_name"], job.metadata["labels"]
    # Labels the service refuses on this Model (recorded when it did) are not compared: git
    # cannot change them, and a difference would be an update on every plan.
    compared = job.metadata["labels"] if model.labels_refused else live_labels
    live = {"model_display_name": model.display_name, "description": model.description,
            "labels": compared}
    found = diff.changes({}, live, {}, job.metadata)
    identity = identity_labels(job)
    by_labels = all(model.all_labels.get(k) == v for k, v in identity.items()
                    if k != managed.NAME) and model.all_labels.get(managed.NAME) in names
    # Found through its run, a Model whose labels the service refuses is this job's by that.
    identified = by_labels or (model.via_run and model.labels_refused)
    kept = {k: v for k, v in model.all_labels.items() if k not in owned}
    patch = ModelPatch(
        model=model.resource, display_name=display_name,
        description=job.metadata["description"],
        labels=None if model.labels_refused else dict(sorted({
            **kept, **user_labels, **identity,
            managed.METADATA: metadata_digest(display_name, user_labels)}.items())))
    recorded = model.all_labels.get(managed.METADATA)
    edited = recorded is not None and recorded != metadata_digest(model.display_name,
                                                                  compared)
    return ModelView(patch, found, identified, edited)


def model_action(job: DesiredJob, decided: ObservedJob, model: ObservedModel,
                  names: set[str]) -> Action:
    view = model_view(job, decided, model, names)
    found, patch = view.found, view.patch
    if not found and view.identified:
        refused = (" (the service refuses this Model's labels, so labels in git are not "
                   "applied to it)" if model.labels_refused else "")
        return Noop(name=job.name, reason=f"up to date{refused}", job_id=decided.job_id,
                    model=model.resource)
    fields = ", ".join(change.field for change in found)
    if not view.identified:
        differs = f"; metadata differs: {fields}" if found else ""
        return Update(name=job.name, reason="the Model lacks tuneops' labels (the pipeline did "
                      f"not copy them), apply adds them{differs}", job_id=decided.job_id,
                      patch=patch, changes=found)
    if view.edited:
        return DriftRestore(name=job.name, reason=f"Model edited outside git ({fields}); apply "
                            "restores it from git", job_id=decided.job_id, patch=patch,
                            changes=found)
    return Update(name=job.name, reason=f"Model metadata differs: {fields}",
                  job_id=decided.job_id, patch=patch, changes=found)
