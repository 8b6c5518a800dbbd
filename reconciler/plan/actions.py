"""PURE: the plan's vocabulary, a closed union of small frozen dataclasses.

Every action carries `name`, `action`, `reason`, `changes` and `job_id`, so the renderers and
the JSON schema treat them alike; the rest is what apply needs to execute it. ACTION_KINDS is
the one list of action kinds that the text, Markdown and JSON renderings read.

Every action of a job that has runs also carries `cancel` and `twins`: the runs applying it
stops, whatever else it does (`stops()`). `cancel` holds still-running runs of a superseded
fingerprint (with cancel_superseded), `twins` the younger of two runs of one name,
fingerprint and attempt (launched twice; the older is kept). They also carry `leftovers`:
the Models (with their endpoints) that runs of the job left without being its result, a run
that failed or was cancelled, a superseded run that completed despite its cancel, a twin;
only `apply --prune` removes them, as it removes orphans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from reconciler.core.channels import Scoring
from reconciler.core.estimate import Estimate
from reconciler.core.runkey import RunKey
from reconciler.kinds import Launch


@dataclass(frozen=True)
class ActionKind:
    symbol: str
    style: str
    icon: str
    # How the plan's summary line counts it ("2 to create").
    summary: str
    # Whether applying it changes something (the plan "has changes").
    changes: bool
    # Always counted in the summary, even at 0, as terraform does for add/change/destroy.
    always_counted: bool = False


ACTION_KINDS: dict[str, ActionKind] = {
    "create": ActionKind("+", "green", "🟢", "to create", True, always_counted=True),
    "retune": ActionKind("~", "yellow", "🟡", "to re-tune", True, always_counted=True),
    "update": ActionKind("~", "cyan", "🔵", "to update", True, always_counted=True),
    "drift": ActionKind("*", "red", "🔴", "drifted", True),
    "rename": ActionKind(">", "cyan", "🔁", "to rename", True),
    "noop": ActionKind("=", "dim", "⚪", "unchanged", False),
    "running": ActionKind(">", "blue", "⏳", "running", False),
    "failed": ActionKind("!", "red", "❌", "failed", False),
    "orphan": ActionKind("-", "magenta", "🟣", "orphaned", False),
    "refused": ActionKind("x", "red", "⛔", "refused", False),
    "queued": ActionKind("…", "yellow", "⏸", "queued", True),
    "evaluate": ActionKind("?", "cyan", "🧪", "to evaluate", True),
    "promote": ActionKind("^", "green", "🚀", "to promote", True),
    "hold": ActionKind("=", "yellow", "✋", "held", False),
}


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any
    forces_retune: bool


@dataclass(frozen=True)
class Attribute:
    """One line of a create's `+` block, as `terraform plan` shows a new resource.

    `value` None is what the service decides: an unset hyper-parameter is its default, an
    id it assigns is known only after apply. `note` is said beside it (example counts).
    """

    name: str
    value: Any
    note: str = ""
    # What a None value means, in words.
    unset: str = "service default"


@dataclass(frozen=True)
class ModelPatch:
    """The Model's metadata as git says it should be, written with one UpdateModel."""

    model: str
    display_name: str
    description: str
    # None: the service refuses this Model's labels (recorded), so none are written.
    labels: dict[str, str] | None


@dataclass(frozen=True)
class Leftover:
    """A Model a run left that is not its job's result, and the run (whose outputs name the
    endpoints prune may delete with it)."""

    model: str
    run: str
    # Why it is a leftover ("its run was cancelled", ...).
    why: str


@dataclass(frozen=True)
class ScoredRun:
    """A run as evaluation and promotion name it: its key, its job, its Model and the
    Endpoint that answers for it ("": none does any more), with its score on the
    evaluation's dataset and metric where one is recorded."""

    key: RunKey
    job_id: str
    resource: str
    model: str
    endpoint: str
    score: float | None = None


@dataclass(frozen=True)
class EvaluationSet:
    """What a score is computed on: the evaluation dataset and the metric."""

    uri: str
    content_hash: str
    # The repository file, staged content-addressed to `staged` before it is read (as
    # training data is); None for a gs:// object, read where it is.
    source: str | None
    staged: str
    examples: int | None
    metric: str

    @property
    def scoring(self) -> Scoring:
        return Scoring(self.content_hash, self.metric)


@dataclass(frozen=True)
class PromotionRule:
    """`promotion:` resolved when planning: the channel, its current run with that run's
    score on this evaluation dataset, and the rule. Apply decides by it, never re-planning."""

    channel: str
    metric: str
    min_score: float | None
    must_beat_current: bool
    current: ScoredRun | None
    # The candidate was this channel's run before: going back to it (`git revert`) is a
    # rollback, promoted without comparing with the current run.
    rollback: bool = False


@dataclass(frozen=True, kw_only=True)
class Create:
    """No job with this name exists: launch one."""

    action: Literal["create"] = "create"
    name: str
    reason: str
    job_id: str
    launch: Launch
    changes: tuple[Change, ...] = ()
    # What the launch will spend, as far as can be known before the run.
    estimate: Estimate | None = None
    # For a job with a channel: what happens after the run.
    promotion: PromotionRule | None = None
    # What the new job will be, attribute by attribute.
    attributes: tuple[Attribute, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Retune:
    """A weight input changed, or a failed run is retried: launch anew."""

    action: Literal["retune"] = "retune"
    name: str
    reason: str
    job_id: str
    launch: Launch
    changes: tuple[Change, ...] = ()
    # What the launch will spend, as far as can be known before the run.
    estimate: Estimate | None = None
    # For a job with a channel: what happens after the run.
    promotion: PromotionRule | None = None
    # Still-running runs of a superseded fingerprint, cancelled by apply (cancel_superseded).
    cancel: tuple[str, ...] = ()
    # Younger twins of a run (the same name, fingerprint and attempt, launched twice): the
    # older is kept, these are cancelled at once.
    twins: tuple[str, ...] = ()
    # Models runs of this job left that are not its result; removed by apply --prune.
    leftovers: tuple[Leftover, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Update:
    """Only metadata differs in git: patch the Model in place, no tuning."""

    action: Literal["update"] = "update"
    name: str
    reason: str
    job_id: str
    patch: ModelPatch
    changes: tuple[Change, ...] = ()
    cancel: tuple[str, ...] = ()
    twins: tuple[str, ...] = ()
    # Models runs of this job left that are not its result; removed by apply --prune.
    leftovers: tuple[Leftover, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DriftRelaunch:
    """The Model of a succeeded run was deleted outside git: tune that fingerprint again."""

    action: Literal["drift"] = "drift"
    remedy: Literal["relaunch"] = "relaunch"
    name: str
    reason: str
    job_id: str
    launch: Launch
    changes: tuple[Change, ...] = ()
    # What the launch will spend, as far as can be known before the run.
    estimate: Estimate | None = None
    # For a job with a channel: what happens after the run.
    promotion: PromotionRule | None = None
    cancel: tuple[str, ...] = ()
    twins: tuple[str, ...] = ()
    # Models runs of this job left that are not its result; removed by apply --prune.
    leftovers: tuple[Leftover, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DriftRestore:
    """The Model was edited outside git: restore its metadata from git."""

    action: Literal["drift"] = "drift"
    remedy: Literal["restore"] = "restore"
    name: str
    reason: str
    job_id: str
    patch: ModelPatch
    changes: tuple[Change, ...] = ()
    cancel: tuple[str, ...] = ()
    twins: tuple[str, ...] = ()
    # Models runs of this job left that are not its result; removed by apply --prune.
    leftovers: tuple[Leftover, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Noop:
    action: Literal["noop"] = "noop"
    name: str
    reason: str
    job_id: str
    model: str
    changes: tuple[Change, ...] = ()
    cancel: tuple[str, ...] = ()
    twins: tuple[str, ...] = ()
    # Models runs of this job left that are not its result; removed by apply --prune.
    leftovers: tuple[Leftover, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Running:
    action: Literal["running"] = "running"
    name: str
    reason: str
    job_id: str
    state: str
    promotion: PromotionRule | None = None
    changes: tuple[Change, ...] = ()
    cancel: tuple[str, ...] = ()
    twins: tuple[str, ...] = ()
    # Models runs of this job left that are not its result; removed by apply --prune.
    leftovers: tuple[Leftover, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Failed:
    """The job of this fingerprint failed; relaunched only with --retry-failed."""

    action: Literal["failed"] = "failed"
    name: str
    reason: str
    job_id: str
    error: str
    changes: tuple[Change, ...] = ()
    cancel: tuple[str, ...] = ()
    twins: tuple[str, ...] = ()
    # Models runs of this job left that are not its result; removed by apply --prune.
    leftovers: tuple[Leftover, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Orphan:
    """Managed resources whose name left configs; touched only with --prune."""

    action: Literal["orphan"] = "orphan"
    name: str
    reason: str
    job_id: str | None
    # Running jobs (cancelled by --prune) and Models (deleted by --prune).
    jobs: tuple[str, ...]
    models: tuple[str, ...]
    # Its runs: the endpoints they created are the only ones prune may touch.
    runs: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()

    @property
    def removable(self) -> bool:
        """Whether --prune has anything of it to remove: an orphan that only keeps the Model
        a channel points to is reported, never pruned, so prune converges."""
        return bool(self.jobs or self.models)


@dataclass(frozen=True, kw_only=True)
class Refused:
    """A launch the target cannot take (a model shut down there): nothing is launched."""

    action: Literal["refused"] = "refused"
    name: str
    reason: str
    job_id: str
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Queued:
    """A launch that waits for quota (`limits:`): a later apply, or apply --wait, makes it."""

    action: Literal["queued"] = "queued"
    name: str
    reason: str
    job_id: str
    launch: Launch
    changes: tuple[Change, ...] = ()
    estimate: Estimate | None = None
    # For a job with a channel: what happens after the run.
    promotion: PromotionRule | None = None
    # Stopped at once, though the launch waits (a cancelling run still holds its quota).
    cancel: tuple[str, ...] = ()
    twins: tuple[str, ...] = ()
    # Models runs of this job left that are not its result; removed by apply --prune.
    leftovers: tuple[Leftover, ...] = ()
    # A queued create's attributes.
    attributes: tuple[Attribute, ...] = ()

    @classmethod
    def of(cls, action: Launching, reason: str) -> Queued:
        """The launch `action` would make, waiting for quota."""
        if isinstance(action, Create):
            return cls(name=action.name, reason=reason, job_id=action.job_id,
                       launch=action.launch, changes=action.changes, estimate=action.estimate,
                       promotion=action.promotion, attributes=action.attributes)
        return cls(name=action.name, reason=reason, job_id=action.job_id,
                   launch=action.launch, changes=action.changes, estimate=action.estimate,
                   promotion=action.promotion, cancel=action.cancel, twins=action.twins,
                   leftovers=action.leftovers)


@dataclass(frozen=True, kw_only=True)
class Rename:
    """A name new in git whose fingerprint is exactly the succeeded run of a name that left
    git: the runs move to the new name (recorded in the staging bucket, and on the Model
    where the service allows it). Nothing is tuned."""

    action: Literal["rename"] = "rename"
    name: str
    reason: str
    job_id: str
    renamed_from: str
    # Every run of the old name, moved to the new one.
    runs: tuple[str, ...]
    # The Model of the succeeded run, relabelled and brought to git's metadata (None: it is
    # gone, and the next plan relaunches as drift).
    patch: ModelPatch | None = None
    changes: tuple[Change, ...] = ()
    cancel: tuple[str, ...] = ()
    twins: tuple[str, ...] = ()
    # Models runs of this job left that are not its result; removed by apply --prune.
    leftovers: tuple[Leftover, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Evaluate:
    """A succeeded run without a score on the evaluation dataset and metric: apply sends
    each example's prompt to its Endpoint, scores the answers with EvaluationService,
    records the score, then promotes or holds by `promotion` (also scoring the channel's
    current run first where the rule compares with it and it has no score on this data)."""

    action: Literal["evaluate"] = "evaluate"
    name: str
    reason: str
    job_id: str
    evaluation: EvaluationSet
    candidate: ScoredRun
    # The runs apply scores: the candidate, and the current run when needed.
    runs: tuple[ScoredRun, ...]
    promotion: PromotionRule | None = None
    # Paid inference: what asking every example of each run costs.
    estimate: Estimate | None = None
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, kw_only=True)
class _Decided:
    """What promote and hold carry: the run, its score, and the rule that decided."""

    name: str
    reason: str
    job_id: str
    evaluation: EvaluationSet
    candidate: ScoredRun
    promotion: PromotionRule
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Promote(_Decided):
    """Every score the rule needs is recorded, and the run passes it (or was the channel's
    before: a rollback): apply moves the channel to it. Nothing is tuned or evaluated."""

    action: Literal["promote"] = "promote"


@dataclass(frozen=True, kw_only=True)
class Hold(_Decided):
    """The run scored below the rule: the channel stays where it is."""

    action: Literal["hold"] = "hold"


Action = (Create | Retune | Update | DriftRelaunch | DriftRestore | Noop | Running | Failed
          | Orphan | Refused | Queued | Rename | Evaluate | Promote | Hold)
# Actions whose apply launches a job now.
Launching = Create | Retune | DriftRelaunch
Patching = Update | DriftRestore
# The actions of a job that has runs: each may also stop some of them.
Stopping = (Retune | Update | DriftRelaunch | DriftRestore | Noop | Running | Failed | Queued
            | Rename)


# Actions of a run still to come or to end: with a channel, they say what happens after it.
AfterRun = Create | Retune | DriftRelaunch | Queued | Running
# What a job with a channel plans for it: after a launch or a running run, or now.
Promoting = AfterRun | Evaluate | Promote | Hold


def promotion_of(action: Action) -> PromotionRule | None:
    """The promotion rule an action carries, if its job has a channel."""
    return action.promotion if isinstance(action, Promoting) else None


def launches_now(action: Action) -> TypeGuard[Launching]:
    """Whether applying `action` launches a job (a queued launch waits for quota)."""
    return isinstance(action, Launching)


def is_launch(action: Action) -> TypeGuard[Launching | Queued]:
    """Whether the plan commits to launching a job for `action`: now, or once quota frees
    (queued). The renderers and the estimates ask this, so they agree on every launch."""
    return launches_now(action) or isinstance(action, Queued)


def stops(action: Action) -> tuple[tuple[str, str], ...]:
    """(run, why) for each run applying `action` cancels: superseded runs, then twins."""
    if not isinstance(action, Stopping):
        return ()
    return (*((run, "superseded") for run in action.cancel),
            *((run, "twin") for run in action.twins))
