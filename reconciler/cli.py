"""The `reconcile` command: argument parsing and the one place errors become exit codes."""

# No `from __future__ import annotations` here: typer reads every command's signature at
# every run, and postponed annotations made it evaluate each one from its text again
# (some 20 ms a command).

import gc
import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from reconciler.apipackages import defer_api_packages
from reconciler.edges.gitrepo import find_root
from reconciler.errors import ConfigError, TuneopsError
from reconciler.layout import STATE_DIR
from reconciler.output import escape
from reconciler.output.formats import PlanOutput as Output
from reconciler.output.formats import StatusOutput, ValidateOutput

if TYPE_CHECKING:
    from reconciler.emulator import EmulatorStore

EXIT_ERROR = 1
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130

# Said at the end of every command's help (click keeps a paragraph after \b as written).
_UNEXPECTED = "  3    an unexpected error (details in .reconciler/last-error.log)"


def _epilog(example: str, *codes: str) -> str:
    """A command's help ends with an example and its exit codes, in order."""
    listed = [f"  {code}" for code in codes]
    after = next((index for index, code in enumerate(codes) if code.split()[0].isdigit()
                  and int(code.split()[0]) > 3), len(codes))
    listed.insert(after, _UNEXPECTED)
    return "\b\nExample:\n  " + example + "\n\n\b\nExit codes:\n" + "\n".join(listed)


_ERROR = "1    an error, one line per problem; nothing was changed"
_SETTINGS = ("0    done", "1    an error, such as no emulator state under --root")

app = typer.Typer(
    add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
    help="Plan and apply Vertex AI tuning jobs from git.",
    epilog=_epilog("reconcile --dry-run",
                   "0    success (or no changes)",
                   "1    an error, or an apply in which an action failed",
                   "130  interrupted (143 for SIGTERM)"))
emulator_app = typer.Typer(
    help="The local Vertex AI + Cloud Storage emulator.",
    short_help="The local Vertex AI + Cloud Storage emulator.",
    epilog=_epilog("reconcile emulator advance 60", *_SETTINGS))
app.add_typer(emulator_app, name="emulator")

RootOption = Annotated[Path | None, typer.Option(
    "--root", "-C", help="Repository to work on (default: the one around the current "
    "directory).", show_default=False)]
DirtyOption = Annotated[bool, typer.Option(
    "--allow-dirty", help="Apply to a project even with uncommitted configs or datasets.")]
RetryOption = Annotated[bool, typer.Option(
    "--retry-failed", help="Relaunch jobs whose fingerprint failed or was cancelled.")]
ApproveOption = Annotated[bool, typer.Option(
    "--auto-approve", help="Apply without asking for `yes` (a project asks on a terminal).")]
TargetOption = Annotated[list[str] | None, typer.Option(
    "--target", metavar="NAME", show_default=False, help="Plan only this job (repeatable); "
    "for exceptional use, such as recovering from a mistake.")]


# Options of the bare `reconcile` that a subcommand after them also takes; any other given
# before a subcommand is refused, never dropped (`reconcile --dry-run apply` once launched).
_BEFORE_SUBCOMMAND = {
    "root": ("--root/-C", {"validate", "plan", "apply", "status", "resolve",
                           "convert-dataset", "emulator"}),
    "auto_approve": ("--auto-approve", {"apply"}),
    "allow_dirty": ("--allow-dirty", {"apply"}),
    # These never launch, so plan-only is what they do anyway.
    "dry_run": ("--dry-run", {"validate", "plan", "show", "status", "resolve", "schema"}),
}


def _top_level(ctx: typer.Context) -> dict[str, object]:
    """The options given to `reconcile` itself, before the subcommand."""
    return ctx.find_root().params


def _root(ctx: typer.Context, root: Path | None) -> Path:
    inherited = _top_level(ctx).get("root")
    if isinstance(inherited, Path):
        if root is not None and root.resolve() != inherited.resolve():
            raise TuneopsError(f"--root is given twice, as {inherited} and {root}; give it once")
        root = inherited
    return find_root(root or Path.cwd())


def _check_before_subcommand(ctx: typer.Context, subcommand: str) -> None:
    for name, (flag, takes) in _BEFORE_SUBCOMMAND.items():
        source = ctx.get_parameter_source(name)
        if source is None or source.name != "COMMANDLINE":
            continue
        if subcommand in takes:
            continue
        if name == "dry_run" and subcommand == "apply":
            raise TuneopsError("--dry-run cannot come before apply: `reconcile --dry-run` or "
                               "`reconcile plan` shows the plan without launching; nothing "
                               "was launched")
        raise TuneopsError(f"{flag} does not apply to `reconcile {subcommand}`; put the "
                           f"subcommand's own options after it (see reconcile {subcommand} "
                           "--help)")


def _print_version(requested: bool) -> None:
    if requested:
        from reconciler.version import version  # noqa: PLC0415

        print(f"reconcile (tuneops) {version()}")
        raise typer.Exit(0)


@contextmanager
def _emulator(ctx: typer.Context, root: Path | None) -> Iterator["EmulatorStore"]:
    """The repository's emulator state, for the commands that steer it."""
    from reconciler.connect import checked_state_dir, quiet_grpc, readable_state  # noqa: PLC0415

    quiet_grpc()
    from reconciler.emulator import EmulatorStore  # noqa: PLC0415

    with readable_state(_root(ctx, root)):
        yield EmulatorStore(checked_state_dir(_root(ctx, root)))


def _console() -> Console:
    """Wraps at a terminal's width; CI logs are not terminals, and there rich would wrap at
    80 columns (or COLUMNS, which tools set at random), so their lines are left whole."""
    # No `:emoji:` codes: a value's `:smile:` is shown as typed, like its `[bold]`.
    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=False, emoji=False)
    return Console(highlight=False, soft_wrap=True, width=160, emoji=False)


@app.callback(invoke_without_command=True)
def default(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; launch nothing.")]
    = False,
    auto_approve: ApproveOption = False,
    allow_dirty: DirtyOption = False,
    root: RootOption = None,
    _version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version,
        help="Print the version and exit.")] = False,
) -> None:
    """Without a subcommand: plan, then apply (with --dry-run: plan only)."""
    if ctx.invoked_subcommand is not None:
        _check_before_subcommand(ctx, ctx.invoked_subcommand)
        return
    from reconciler.commands.apply import apply_command  # noqa: PLC0415
    from reconciler.commands.plan import plan_command  # noqa: PLC0415

    if dry_run:
        raise typer.Exit(plan_command(root=_root(ctx, root), output="text", out=None,
                                      detailed_exitcode=False, retry_failed=False, base=None,
                                      console=_console()))
    raise typer.Exit(apply_command(root=_root(ctx, root), planfile_path=None,
                                   auto_approve=auto_approve, retry_failed=False, prune=False,
                                   parallelism=4, wait=False, timeout=0,
                                   allow_dirty=allow_dirty, console=_console()))


@app.command("validate", short_help="Validate every config and dataset (offline).",
             epilog=_epilog("reconcile validate --output github",
                            "0    every config and dataset is valid (warnings are shown)",
                            "1    a config or dataset is invalid: one line per problem"))
def validate_cmd(
    ctx: typer.Context,
    remote: Annotated[bool, typer.Option(
        "--remote", help="Also download gs:// datasets and validate their content.")] = False,
    output: Annotated[ValidateOutput, typer.Option(
        "--output", "-o", help="text, or github: also print workflow-command annotations.")]
    = "text",
    root: RootOption = None,
) -> None:
    """Parse and validate every config and dataset; no network unless --remote."""
    from reconciler.commands.validate import validate  # noqa: PLC0415

    raise typer.Exit(validate(root=_root(ctx, root), remote=remote, output=output,
                              console=_console()))


OutputOption = Annotated[Output, typer.Option(
    "--output", "-o", help="text for a terminal, json (the plan file's schema), markdown (the "
    "pull request comment) or github (text and workflow-command annotations).")]


@app.command("plan", short_help="Show what apply would launch, update or report.",
             epilog=_epilog("reconcile plan --base origin/main --out plan.json",
                            "0    the plan was made (with --detailed-exitcode: no changes)",
                            "2    with --detailed-exitcode: the plan has changes or a failed job",
                            _ERROR))
def plan_cmd(
    ctx: typer.Context,
    output: OutputOption = "text",
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="FILE", help="Also save the plan as JSON, for `reconcile apply FILE`.")]
    = None,
    detailed_exitcode: Annotated[bool, typer.Option(
        "--detailed-exitcode", help="Exit 2 when the plan has changes or a failed job, 0 "
        "when neither.")] = False,
    retry_failed: RetryOption = False,
    base: Annotated[str | None, typer.Option(
        "--base", help="Also show what this branch changes relative to REF (e.g. origin/main).",
        metavar="REF")] = None,
    target: TargetOption = None,
    root: RootOption = None,
) -> None:
    """Show what apply would launch, update or report, against the jobs that exist."""
    from reconciler.commands.plan import plan_command  # noqa: PLC0415

    raise typer.Exit(plan_command(root=_root(ctx, root), output=output, out=out,
                                  detailed_exitcode=detailed_exitcode,
                                  retry_failed=retry_failed, base=base, console=_console(),
                                  targets=tuple(target or ())))


@app.command("show", short_help="Show a plan saved by plan --out.",
             epilog=_epilog("reconcile show plan.json --output markdown",
                            "0    the plan was shown",
                            "1    the file is not a plan this version of reconcile reads"))
def show_cmd(
    planfile: Annotated[Path, typer.Argument(help="A plan saved by `reconcile plan --out`.",
                                             metavar="PLANFILE")],
    output: OutputOption = "text",
) -> None:
    """Render a saved plan in any output format, without planning or connecting."""
    from reconciler.commands.show import show_command  # noqa: PLC0415

    raise typer.Exit(show_command(path=planfile, output=output, console=_console()))


@app.command("apply", short_help="Launch, update and (with --prune) delete what the plan "
             "says.",
             epilog=_epilog("reconcile apply plan.json --wait",
                            "0    every action succeeded (with --wait: every job too)",
                            "1    an error, or an action failed, a job was refused, or",
                            "     (with --wait) a job did not succeed: the last line says which",
                            "130  interrupted (143 for SIGTERM); what was launched is listed"))
def apply_cmd(
    ctx: typer.Context,
    planfile: Annotated[Path | None, typer.Argument(
        help="A plan saved by plan --out; applied exactly, refused when stale.",
        metavar="[PLANFILE]")] = None,
    auto_approve: ApproveOption = False,
    retry_failed: RetryOption = False,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Delete Models of jobs no longer in configs.")] = False,
    parallelism: Annotated[int, typer.Option(
        min=1, max=64, help="How many actions run at once.")] = 4,
    wait: Annotated[bool, typer.Option(
        "--wait", help="Follow launched jobs until they end; exit 1 if one fails.")] = False,
    timeout: Annotated[float, typer.Option(
        help="Seconds --wait follows jobs before giving up.", min=0)] = 24 * 3600.0,
    allow_dirty: DirtyOption = False,
    max_cost: Annotated[float | None, typer.Option(
        "--max-cost", min=0, help="Launch nothing if the plan's launches cost more than this "
        "many dollars at list price.")] = None,
    allow_over_budget: Annotated[bool, typer.Option(
        "--allow-over-budget", help="Launch even beyond budget: and --max-cost.")] = False,
    allow_empty: Annotated[bool, typer.Option(
        "--allow-empty", help="Let --prune delete every managed Model when configs/ holds "
        "no job at all.")] = False,
    target: TargetOption = None,
    root: RootOption = None,
) -> None:
    """Launch, update and (with --prune) delete what the plan says; a saved plan is
    printed, then applied exactly."""
    from reconciler.commands.apply import apply_command  # noqa: PLC0415

    top = _top_level(ctx)
    raise typer.Exit(apply_command(root=_root(ctx, root), planfile_path=planfile,
                                   auto_approve=auto_approve or bool(top.get("auto_approve")),
                                   retry_failed=retry_failed, prune=prune,
                                   parallelism=parallelism, wait=wait, timeout=timeout,
                                   allow_dirty=allow_dirty or bool(top.get("allow_dirty")),
                                   console=_console(), max_cost=max_cost,
                                   allow_over_budget=allow_over_budget,
                                   allow_empty=allow_empty, targets=tuple(target or ())))


@app.command("status", short_help="Managed jobs and Models with their state.",
             epilog=_epilog("reconcile status bigquery-gemini",
                            "0    shown", "1    an error, such as no job named NAME"))
def status_cmd(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(
        help="One job's runs, Models and endpoints, in detail.", metavar="[NAME]",
        show_default=False)] = None,
    output: Annotated[StatusOutput, typer.Option(
        "--output", "-o", help="text, or json.")] = "text",
    root: RootOption = None,
) -> None:
    """Managed jobs and Models with their state; * marks each name's current run and Model.
    It only reads, so it works while a config is invalid."""
    from reconciler.commands.status import status_command  # noqa: PLC0415

    raise typer.Exit(status_command(root=_root(ctx, root), output=output, console=_console(),
                                    name=name))


@app.command("doctor", short_help="How this project's Vertex AI behaves where undocumented.",
             epilog=_epilog("reconcile doctor --location europe-west4",
                            "0    checked, and the staging bucket enforces preconditions",
                            "1    the bucket does not enforce them (launch leases cannot "
                            "hold), or an error"))
def doctor_cmd(
    ctx: typer.Context,
    location: Annotated[str, typer.Option(
        help="The region to probe (a kind that does not tune there is probed where it "
        "does).")] = "us-central1",
    output: Annotated[StatusOutput, typer.Option(
        "--output", "-o", help="text, or json.")] = "text",
    root: RootOption = None,
) -> None:
    """Read-only: how this project's lists treat filters, whether the staging bucket
    enforces preconditions, and the client library versions. Launches nothing."""
    from reconciler.commands.doctor import doctor_command  # noqa: PLC0415

    raise typer.Exit(doctor_command(root=_root(ctx, root), location=location, output=output,
                                    console=_console()))


@app.command("resolve", short_help="The Model and Endpoint a job's channel is promoted to.",
             epilog=_epilog("reconcile resolve sql-assistant --channel production -o json",
                            "0    resolved: the promoted run's Model and Endpoint are shown",
                            "1    nothing is promoted to the channel, or another error"))
def resolve_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The job whose channel to resolve.")],
    channel: Annotated[str | None, typer.Option(
        "--channel", help="Which channel (default: the job's only one).",
        show_default=False)] = None,
    output: Annotated[StatusOutput, typer.Option(
        "--output", "-o", help="text, or json.")] = "text",
    root: RootOption = None,
) -> None:
    """The Model and Endpoint a job's channel is promoted to, for an application or a deploy
    step to use instead of a hard-coded endpoint. It reads only the staging bucket."""
    from reconciler.commands.resolve import resolve_command  # noqa: PLC0415

    raise typer.Exit(resolve_command(root=_root(ctx, root), name=name, channel=channel,
                                     output=output, console=_console()))


@app.command("convert-dataset", short_help="A reference-format dataset as Gemini JSONL.",
             epilog=_epilog("reconcile convert-dataset datasets/old.jsonl datasets/new.jsonl",
                            "0    converted and written",
                            "1    a line does not convert: nothing was written"))
def convert_dataset_cmd(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A code-generation or code-chat JSONL file.")],
    destination: Annotated[Path, typer.Argument(help="Where to write the Gemini JSONL.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite DESTINATION if it exists (never the input).")] = False,
    root: RootOption = None,
) -> None:
    """Convert a reference-format dataset to Gemini supervised-tuning JSONL."""
    from reconciler.commands.convert import convert_dataset  # noqa: PLC0415

    raise typer.Exit(convert_dataset(root=_root(ctx, root), source=source,
                                     destination=destination, force=force,
                                     console=_console()))


@app.command("init", short_help="Scaffold a repository of tuning configs.",
             epilog=_epilog("reconcile init tuning-configs --action-repo acme/tuneops",
                            "0    the files were written",
                            "1    nothing was written: a file exists (--force), or the",
                            "     action's repository or commit is not known (--action-repo,",
                            "     --action-ref)"))
def init_cmd(
    directory: Annotated[Path, typer.Argument(
        help="Where to create the config repository.")] = Path(),
    action_repo: Annotated[str | None, typer.Option(
        "--action-repo", metavar="OWNER/REPO", help="The GitHub repository of the tuneops "
        "action the workflows use (default: the one tuneops was installed from).",
        show_default=False)] = None,
    action_ref: Annotated[str | None, typer.Option(
        "--action-ref", metavar="REF", help="The commit sha (or tag) of that action to pin "
        "(default: the commit tuneops was installed from, for an install from git).",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    kinds: Annotated[list[str] | None, typer.Option(
        "--kind", metavar="KIND", help="Scaffold an example job of this kind (repeatable; "
        "default: the first kind that has an example). An unknown kind lists those that "
        "have one.",
        show_default=False)] = None,
) -> None:
    """Scaffold a config repository: an example job, the workflows, pre-commit, a README."""
    from reconciler.commands.init import init  # noqa: PLC0415

    raise typer.Exit(init(directory=directory, action_repo=action_repo, action_ref=action_ref,
                          force=force, console=_console(), kinds=kinds))


@app.command("schema", short_help="The JSON Schema of a job document, for editors.",
             epilog=_epilog("reconcile schema > schema/job.schema.json", "0    printed"))
def schema_cmd() -> None:
    """The JSON Schema of a job document, for editors."""
    from reconciler.kinds import job_schema  # noqa: PLC0415

    print(json.dumps(job_schema(), indent=2))


@emulator_app.command("serve", short_help="Run the emulator in the foreground.",
                      epilog=_epilog("reconcile emulator serve --port 8470",
                                     "0    stopped (Ctrl-C)",
                                     "1    an error, such as a port in use"))
def emulator_serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="gRPC port (0: any free port).")] = 0,
    storage_port: Annotated[int, typer.Option(help="Cloud Storage port (0: any).")] = 0,
    job_seconds: Annotated[float, typer.Option(
        min=0.001, help="How long an emulated job runs, in seconds.")] = 10.0,
    root: RootOption = None,
) -> None:
    """Run the emulator in the foreground; point reconcile at it with TUNEOPS_API_ENDPOINT."""
    from reconciler.connect import checked_state_dir, quiet_grpc, readable_state  # noqa: PLC0415

    quiet_grpc()
    from reconciler.emulator import serve  # noqa: PLC0415

    with readable_state(_root(ctx, root)):
        serve(checked_state_dir(_root(ctx, root)), port, job_seconds, storage_port)


@emulator_app.command("faults", short_help="Make emulator calls fail, or slow.",
                      epilog=_epilog("reconcile emulator faults --unavailable 0.2",
                                     *_SETTINGS))
def emulator_faults(
    ctx: typer.Context,
    unavailable: Annotated[float, typer.Option(
        min=0, max=1, help="Fraction of calls that fail with UNAVAILABLE.")] = 0.0,
    resource_exhausted: Annotated[float, typer.Option(
        min=0, max=1, help="Fraction of calls that fail with RESOURCE_EXHAUSTED.")] = 0.0,
    drop_create: Annotated[float, typer.Option(
        min=0, max=1, help="Fraction of creates committed whose response is then lost.")]
    = 0.0,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the faults' random choices, to repeat a run.", show_default=False)]
    = None,
    operation_seconds: Annotated[float, typer.Option(
        min=0, help="How long undeploy and delete operations run before they are done "
        "(the real ones take minutes).")] = 0.0,
    latency: Annotated[float, typer.Option(
        min=0, help="Seconds every call is served late, as over a slow network.")] = 0.0,
    jitter: Annotated[float, typer.Option(
        min=0, help="Up to this many seconds more, drawn per call.")] = 0.0,
    root: RootOption = None,
) -> None:
    """Make a fraction of emulator calls fail, to rehearse retries, or all of them slow
    (all 0: off)."""
    with _emulator(ctx, root) as store:
        store.set_faults(
            unavailable_rate=unavailable, resource_exhausted_rate=resource_exhausted,
            drop_create_response_rate=drop_create, seed=seed,
            operation_seconds=operation_seconds, latency_seconds=latency,
            jitter_seconds=jitter)


@emulator_app.command("quirks", short_help="Behave as Vertex AI may where its docs are silent.",
                      epilog=_epilog("reconcile emulator quirks --no-model-labels",
                                     *_SETTINGS))
def emulator_quirks(
    ctx: typer.Context,
    model_labels: Annotated[bool, typer.Option(
        "--model-labels/--no-model-labels",
        help="Whether a run's labels reach the Model and endpoints it creates (older "
        "tuning pipelines did not; undocumented for every key of a TuningJob).")] = True,
    list_filter: Annotated[str, typer.Option(
        help="What lists do with a filter: honoured, ignored or rejected (undocumented "
        "for ListTuningJobs).")] = "honoured",
    list_lag: Annotated[float, typer.Option(
        min=0, help="Seconds before a new resource shows in lists (undocumented).")] = 0.0,
    update_model_labels: Annotated[bool, typer.Option(
        "--update-model-labels/--no-update-model-labels",
        help="Whether UpdateModel may change a tuned Gemini Model's labels "
        "(undocumented).")] = True,
    delete_tuned_model: Annotated[bool, typer.Option(
        "--delete-tuned-model/--no-delete-tuned-model",
        help="Whether DeleteModel deletes a tuned Gemini Model (once documented as "
        "impossible).")] = True,
    cancel_outcome: Annotated[str, typer.Option(
        help="How a cancel ends: cancelled, succeeded or failed (it is best effort).")]
    = "cancelled",
    cancelled_runs_leave_model: Annotated[bool, typer.Option(
        "--cancelled-runs-leave-model/--no-cancelled-runs-leave-model",
        help="Whether a cancelled or failed tuning run leaves a Model of its checkpoints "
        "(undocumented).")] = False,
    quota_mode: Annotated[str, typer.Option(
        help="A create past quota: refuse, or queue it until a slot frees.")] = "refuse",
    quota_error: Annotated[str, typer.Option(
        help="What a quota refusal carries: message (the metric in its text) or details "
        "(QuotaFailure and ErrorInfo).")] = "message",
    rouge_recall: Annotated[bool, typer.Option(
        "--rouge-recall/--no-rouge-recall",
        help="Whether EvaluateInstances scores ROUGE as recall rather than F-measure "
        "(undocumented which).")] = False,
    max_page_size: Annotated[int, typer.Option(
        min=1, help="The most a List returns in one page (undocumented).")] = 1000,
    oversized_page: Annotated[str, typer.Option(
        help="A page_size over that maximum: coerced to it (AIP-158) or refused.")]
    = "coerced",
    root: RootOption = None,
) -> None:
    """Pick how the emulator behaves where Vertex AI's documentation leaves it open (each
    switch not given takes its default)."""
    try:
        switches = {"model_labels": model_labels, "list_filter": list_filter,
                    "list_lag_seconds": list_lag, "update_model_labels": update_model_labels,
                    "delete_tuned_model": delete_tuned_model, "cancel_outcome": cancel_outcome,
                    "cancelled_runs_leave_model": cancelled_runs_leave_model,
                    "quota_mode": quota_mode, "quota_error": quota_error,
                    "rouge_recall": rouge_recall, "max_page_size": max_page_size,
                    "oversized_page": oversized_page}
        with _emulator(ctx, root) as store:
            store.set_quirks(**switches)
    except ValueError as error:
        raise TuneopsError(f"emulator quirks: {error}") from None


@emulator_app.command("quota", short_help="Limit how many jobs may run at once.",
                      epilog=_epilog("reconcile emulator quota us-central1:pipeline=1 "
                                     "--submissions-per-minute 60", *_SETTINGS))
def emulator_quota(
    ctx: typer.Context,
    limits: Annotated[list[str] | None, typer.Argument(
        help="LOCATION:KIND=N, e.g. us-central1:pipeline=1 or global:tuning-job=2 (none: "
        "no quota).",
        metavar="LOCATION:KIND=N")] = None,
    submissions: Annotated[int | None, typer.Option(
        "--submissions-per-minute", min=1, metavar="N",
        help="Also refuse a project's job and LRO submissions past N in any minute of a "
        "region, as Vertex AI's request quota (60) does (absent: no limit).")] = None,
    root: RootOption = None,
) -> None:
    """Limit how many jobs of a kind may run at once in a location (or, for a kind whose
    quota is one per project, in all: global:KIND=N), as a project's quota; each call sets
    the whole quota."""
    from reconciler.emulator.all_services import QUOTA_METRICS  # noqa: PLC0415

    parsed: dict[str, dict[str, int]] = {}
    for limit in limits or []:
        where, _, count = limit.partition("=")
        location, _, kind = where.partition(":")
        metric = QUOTA_METRICS.get(kind)
        if not (location and metric is not None and count.isdigit()):
            raise TuneopsError(f"quota {limit!r}: expected LOCATION:KIND=N with KIND "
                               f"{' or '.join(QUOTA_METRICS)}")
        if not metric.takes(location):
            scope = ("one per project: write global:KIND=N" if metric.scope == "global"
                     else "per location: write LOCATION:KIND=N")
            raise TuneopsError(f"quota {limit!r}: {kind} quota is {scope}")
        parsed.setdefault(location, {})[kind] = int(count)
    with _emulator(ctx, root) as store:
        store.set_quota(parsed)
        store.set_submission_rate(submissions)


@emulator_app.command("advance", short_help="Move the emulator's clock forward.",
                      epilog=_epilog("reconcile emulator advance 3600", *_SETTINGS))
def emulator_advance(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Argument(help="How far to move the emulator's clock.")],
    root: RootOption = None,
) -> None:
    """Move the embedded emulator's clock forward, so jobs finish without waiting."""
    with _emulator(ctx, root) as store:
        store.advance_clock(seconds)


def _root_of(argv: list[str]) -> Path:
    """The repository a command ran on, for its error log: --root/-C, else the current one."""
    for index, arg in enumerate(argv[:-1]):
        if arg in ("--root", "-C"):
            return find_root(Path(argv[index + 1]))
    equal = next((a.split("=", 1)[1] for a in argv if a.startswith("--root=")), None)
    return find_root(Path(equal) if equal else Path.cwd())


def _report_unexpected(argv: list[str]) -> int:
    from reconciler.load.writes import own_file, write  # noqa: PLC0415

    details = traceback.format_exc()
    try:
        log = own_file(_root_of(argv), f"{STATE_DIR}/last-error.log")
        write(log, details.encode())
        where = f"; details in {log}"
    except (TuneopsError, OSError, ValueError):
        where = ""  # the message below is all there is
    error = sys.exc_info()[1]
    print(f"reconcile: unexpected error: {escape.text(repr(error))}{where}", file=sys.stderr)
    return EXIT_UNEXPECTED


def main(argv: list[str] | None = None) -> int:
    """Runs `reconcile`; every failure is one line per problem on stderr, never a traceback."""
    defer_api_packages()  # before anything imports Vertex AI's API packages
    try:
        result = app(args=argv, prog_name="reconcile", standalone_mode=False)
    except ConfigError as error:
        # A problem's line starts with its file name: nothing in it may read as a command.
        for problem in error.problems:
            print(escape.log_line(str(problem)), file=sys.stderr)
        count = len(error.problems)
        print(f"{count} error{'s' if count != 1 else ''}; {error.consequence}.",
              file=sys.stderr)
        return EXIT_ERROR
    except TuneopsError as error:
        print(f"reconcile: {escape.text(error)}", file=sys.stderr)
        return EXIT_ERROR
    except typer.Exit as done:
        return done.exit_code
    except typer.TyperException as error:
        print(f"reconcile: {escape.text(error.format_message())} (see reconcile --help)",
              file=sys.stderr)
        return EXIT_ERROR
    except (typer.Abort, KeyboardInterrupt):
        print("reconcile: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        return _report_unexpected(sys.argv[1:] if argv is None else argv)
    return int(result) if isinstance(result, int) else 0


def entrypoint() -> None:
    """The `reconcile` process: its garbage collector and pydantic set for a short command.

    A command imports libraries that leave some 160,000 objects, and makes few reference
    cycles. Collecting after 50,000 allocations not yet freed (not 700) stops full
    collections from walking those objects again and again: a seventh of a warm plan of
    1,000 jobs, at the same peak memory (freed objects do not count, so a dataset's records
    never add up). Frozen before exit, they are freed without the interpreter's last
    collections (a quarter of a second after a plan, 70 ms after validate).

    Pydantic plugins have nothing to observe in tuneops' own config models, and finding
    them scans every installed package's metadata. PYDANTIC_DISABLE_PLUGINS is pydantic's
    documented switch, and a value the user set is kept.
    """
    gc.set_threshold(50_000)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    code = main()
    gc.freeze()
    sys.exit(code)
