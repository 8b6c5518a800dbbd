"""The `reconcile` command: argument parsing and the one place errors become exit codes."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from reconciler.edges.gitrepo import find_root
from reconciler.errors import ConfigError, TuneopsError, one_line
from reconciler.layout import STATE_DIR
from reconciler.output.formats import PlanOutput as Output
from reconciler.output.formats import StatusOutput, ValidateOutput

if TYPE_CHECKING:
    from reconciler.emulator import EmulatorStore

EXIT_ERROR = 1
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None, help="Plan and apply Vertex AI tuning jobs from git.")
emulator_app = typer.Typer(help="The local Vertex AI + Cloud Storage emulator.")
app.add_typer(emulator_app, name="emulator")

RootOption = Annotated[Path | None, typer.Option(
    "--root", "-C", help="Repository to work on (default: the one around the current "
    "directory).", show_default=False)]
DirtyOption = Annotated[bool, typer.Option(
    "--allow-dirty", help="Apply to a project even with uncommitted configs or datasets.")]
RetryOption = Annotated[bool, typer.Option(
    "--retry-failed", help="Relaunch jobs whose fingerprint failed or was cancelled.")]


def _root(root: Path | None) -> Path:
    return find_root(root or Path.cwd())


def _print_version(requested: bool) -> None:
    if requested:
        from reconciler.version import version  # noqa: PLC0415

        print(f"reconcile (tuneops) {version()}")
        raise typer.Exit(0)


@contextmanager
def _emulator(root: Path | None) -> Iterator[EmulatorStore]:
    """The repository's emulator state, for the commands that steer it."""
    from reconciler.connect import checked_state_dir, readable_state  # noqa: PLC0415
    from reconciler.emulator import EmulatorStore  # noqa: PLC0415

    with readable_state(_root(root)):
        yield EmulatorStore(checked_state_dir(_root(root)))


def _console() -> Console:
    # CI logs are not terminals; rich would wrap them at 80 columns.
    width = None if sys.stdout.isatty() else 160
    return Console(highlight=False, soft_wrap=True, width=width)


@app.callback(invoke_without_command=True)
def default(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; launch nothing.")]
    = False,
    auto_approve: Annotated[bool, typer.Option("--auto-approve")] = False,
    allow_dirty: DirtyOption = False,
    root: RootOption = None,
    _version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version,
        help="Print the version and exit.")] = False,
) -> None:
    """Without a subcommand: plan, then apply (with --dry-run: plan only)."""
    if ctx.invoked_subcommand is not None:
        return
    from reconciler.commands.apply import apply_command  # noqa: PLC0415
    from reconciler.commands.plan import plan_command  # noqa: PLC0415

    if dry_run:
        raise typer.Exit(plan_command(root=_root(root), output="text", out=None,
                                      detailed_exitcode=False, retry_failed=False, base=None,
                                      console=_console()))
    raise typer.Exit(apply_command(root=_root(root), planfile_path=None,
                                   auto_approve=auto_approve, retry_failed=False, prune=False,
                                   parallelism=4, wait=False, timeout=0,
                                   allow_dirty=allow_dirty, console=_console()))


@app.command("validate")
def validate_cmd(
    remote: Annotated[bool, typer.Option(
        "--remote", help="Also download gs:// datasets and validate their content.")] = False,
    output: Annotated[ValidateOutput, typer.Option(
        "--output", "-o", help="github: also print workflow-command annotations.")] = "text",
    root: RootOption = None,
) -> None:
    """Parse and validate every config and dataset; no network unless --remote."""
    from reconciler.commands.validate import validate  # noqa: PLC0415

    raise typer.Exit(validate(root=_root(root), remote=remote, output=output,
                              console=_console()))


@app.command("plan")
def plan_cmd(
    output: Annotated[Output, typer.Option("--output", "-o")] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="Save the plan for apply.")] = None,
    detailed_exitcode: Annotated[bool, typer.Option(
        "--detailed-exitcode", help="Exit 2 when the plan has changes, 0 when none.")] = False,
    retry_failed: RetryOption = False,
    base: Annotated[str | None, typer.Option(
        "--base", help="Also show what this branch changes relative to REF (e.g. origin/main).",
        metavar="REF")] = None,
    root: RootOption = None,
) -> None:
    """Show what apply would launch, update or report."""
    from reconciler.commands.plan import plan_command  # noqa: PLC0415

    raise typer.Exit(plan_command(root=_root(root), output=output, out=out,
                                  detailed_exitcode=detailed_exitcode,
                                  retry_failed=retry_failed, base=base, console=_console()))


@app.command("apply")
def apply_cmd(
    planfile: Annotated[Path | None, typer.Argument(
        help="A plan saved by plan --out; applied exactly, refused when stale.")] = None,
    auto_approve: Annotated[bool, typer.Option("--auto-approve")] = False,
    retry_failed: RetryOption = False,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Delete Models of jobs no longer in configs.")] = False,
    parallelism: Annotated[int, typer.Option(min=1, max=64)] = 4,
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
    root: RootOption = None,
) -> None:
    """Launch, update and (with --prune) delete what the plan says."""
    from reconciler.commands.apply import apply_command  # noqa: PLC0415

    raise typer.Exit(apply_command(root=_root(root), planfile_path=planfile,
                                   auto_approve=auto_approve, retry_failed=retry_failed,
                                   prune=prune, parallelism=parallelism, wait=wait,
                                   timeout=timeout, allow_dirty=allow_dirty,
                                   console=_console(), max_cost=max_cost,
                                   allow_over_budget=allow_over_budget))


@app.command("status")
def status_cmd(output: Annotated[StatusOutput, typer.Option("--output", "-o")] = "text",
               root: RootOption = None) -> None:
    """Managed jobs and Models with their state."""
    from reconciler.commands.status import status_command  # noqa: PLC0415

    raise typer.Exit(status_command(root=_root(root), output=output, console=_console()))


@app.command("convert-dataset")
def convert_dataset_cmd(
    source: Annotated[Path, typer.Argument(help="A code-generation or code-chat JSONL file.")],
    destination: Annotated[Path, typer.Argument(help="Where to write the Gemini JSONL.")],
    root: RootOption = None,
) -> None:
    """Convert a reference-format dataset to Gemini supervised-tuning JSONL."""
    from reconciler.commands.convert import convert_dataset  # noqa: PLC0415

    raise typer.Exit(convert_dataset(root=_root(root), source=source,
                                     destination=destination, console=_console()))


@app.command("init")
def init_cmd(
    directory: Annotated[Path, typer.Argument(
        help="Where to create the config repository.")] = Path(),
    action_ref: Annotated[str | None, typer.Option(
        "--action-ref", metavar="REF", help="The tuneops action's tag or commit sha the "
        "workflows use (default: this version's tag).", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Scaffold a config repository: example jobs, workflows, pre-commit, README."""
    from reconciler.commands.init import init  # noqa: PLC0415

    raise typer.Exit(init(directory=directory, action_ref=action_ref, force=force,
                          console=_console()))


@app.command("schema")
def schema_cmd() -> None:
    """The JSON Schema of a job document, for editors."""
    from reconciler.kinds import job_schema  # noqa: PLC0415

    print(json.dumps(job_schema(), indent=2))


@emulator_app.command("serve")
def emulator_serve(
    port: Annotated[int, typer.Option(help="gRPC port (0: any free port).")] = 0,
    storage_port: Annotated[int, typer.Option(help="Cloud Storage port (0: any).")] = 0,
    job_seconds: Annotated[float, typer.Option(min=0.001)] = 10.0,
    root: RootOption = None,
) -> None:
    """Run the emulator in the foreground; point reconcile at it with TUNEOPS_API_ENDPOINT."""
    from reconciler.connect import checked_state_dir, readable_state  # noqa: PLC0415
    from reconciler.emulator import serve  # noqa: PLC0415

    with readable_state(_root(root)):
        serve(checked_state_dir(_root(root)), port, job_seconds, storage_port)


@emulator_app.command("faults")
def emulator_faults(
    unavailable: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    resource_exhausted: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    drop_create: Annotated[float, typer.Option(
        min=0, max=1, help="Commit creates, then lose the response.")] = 0.0,
    seed: int | None = None,
    latency: Annotated[float, typer.Option(
        min=0, help="Seconds every call is served late, as over a slow network.")] = 0.0,
    jitter: Annotated[float, typer.Option(
        min=0, help="Up to this many seconds more, drawn per call.")] = 0.0,
    root: RootOption = None,
) -> None:
    """Make a fraction of emulator calls fail, to rehearse retries, or all of them slow
    (all 0: off)."""
    with _emulator(root) as store:
        store.set_faults(
            unavailable_rate=unavailable, resource_exhausted_rate=resource_exhausted,
            drop_create_response_rate=drop_create, seed=seed, latency_seconds=latency,
            jitter_seconds=jitter)


@emulator_app.command("quirks")
def emulator_quirks(
    model_labels: Annotated[bool, typer.Option(
        "--model-labels/--no-model-labels",
        help="Whether a succeeded pipeline copies its run's labels onto the Model (older "
        "tuning pipelines did not).")] = True,
    root: RootOption = None,
) -> None:
    """Make the emulator behave like other versions of the real service."""
    with _emulator(root) as store:
        store.set_quirks(model_labels=model_labels)


@emulator_app.command("quota")
def emulator_quota(
    limits: Annotated[list[str] | None, typer.Argument(
        help="LOCATION:KIND=N, e.g. us-central1:pipeline=1 (none: no quota).",
        metavar="LOCATION:KIND=N")] = None,
    root: RootOption = None,
) -> None:
    """Limit how many jobs of a kind may run at once in a location, as a project's quota."""
    from reconciler.emulator.all_services import QUOTA_KINDS  # noqa: PLC0415

    parsed: dict[str, dict[str, int]] = {}
    for limit in limits or []:
        where, _, count = limit.partition("=")
        location, _, kind = where.partition(":")
        if not (location and kind in QUOTA_KINDS and count.isdigit()):
            raise TuneopsError(f"quota {limit!r}: expected LOCATION:KIND=N with KIND "
                               f"{' or '.join(QUOTA_KINDS)}")
        parsed.setdefault(location, {})[kind] = int(count)
    with _emulator(root) as store:
        store.set_quota(parsed)


@emulator_app.command("advance")
def emulator_advance(
    seconds: Annotated[float, typer.Argument(help="How far to move the emulator's clock.")],
    root: RootOption = None,
) -> None:
    """Move the embedded emulator's clock forward, so jobs finish without waiting."""
    with _emulator(root) as store:
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
    print(f"reconcile: unexpected error: {one_line(repr(error))}{where}", file=sys.stderr)
    return EXIT_UNEXPECTED


def main(argv: list[str] | None = None) -> int:
    """Runs `reconcile`; every failure is one line per problem on stderr, never a traceback."""
    try:
        result = app(args=argv, prog_name="reconcile", standalone_mode=False)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        count = len(error.problems)
        print(f"{count} error{'s' if count != 1 else ''}; {error.consequence}.",
              file=sys.stderr)
        return EXIT_ERROR
    except TuneopsError as error:
        print(f"reconcile: {one_line(str(error))}", file=sys.stderr)
        return EXIT_ERROR
    except typer.Exit as done:
        return done.exit_code
    except typer.TyperException as error:
        print(f"reconcile: {one_line(error.format_message())} (see reconcile --help)",
              file=sys.stderr)
        return EXIT_ERROR
    except (typer.Abort, KeyboardInterrupt):
        print("reconcile: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        return _report_unexpected(sys.argv[1:] if argv is None else argv)
    return int(result) if isinstance(result, int) else 0


def entrypoint() -> None:
    sys.exit(main())
