"""`reconcile doctor`: what this project's Vertex AI and staging bucket do where their
documentation is silent, found without launching anything.

It lists each kind of job, and Models, with tuneops' label filter and without, and says
whether the filter is honoured, ignored or refused (ListTuningJobs documents its filter only
as "The standard list filter"); whether names carry the project's number; whether the staging
bucket enforces the generation preconditions launch leases rest on; and the client library
versions. Its one write: a scratch object under the staging prefix, created only if absent,
then deleted. tuneops is correct under either answer; doctor says which holds here.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from reconciler.backends.probe import ListProbe
from reconciler.connect import connect
from reconciler.edges.storage import Storage
from reconciler.load.config import load_target
from reconciler.output.formats import StatusOutput

Output = StatusOutput
LIBRARIES = ("google-cloud-aiplatform", "google-cloud-storage", "google-api-core", "grpcio",
             "protobuf")
SCRATCH = "doctor"


@dataclass(frozen=True)
class Report:
    where: str
    lists: tuple[ListProbe, ...]
    # Whether a second create-if-absent of one object fails, as leases need.
    preconditions: bool
    scratch: str
    libraries: dict[str, str]


def _versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _preconditions(storage: Storage, staging: str) -> tuple[bool, str]:
    """Creates a scratch object only if absent, tries again (which must be refused), and
    deletes it: whether the bucket enforces ifGenerationMatch=0."""
    uri = f"{staging}/{SCRATCH}/{uuid.uuid4().hex}"
    try:
        first = storage.write_if(uri, {"doctor": "scratch"}, 0)
        second = storage.write_if(uri, {"doctor": "again"}, 0)
    finally:
        storage.delete(uri)
    return first is not None and second is None, uri


def diagnose(root: Path, location: str) -> Report:
    target = load_target(root)
    with connect(target, root) as connection:
        lists = tuple(connection.backend.probe_lists(location))
        enforced, scratch = _preconditions(connection.storage, target.staging_bucket)
        where = connection.where
    return Report(where, lists, enforced, scratch, _versions())


FILTER_WORDS = {
    "honoured": "honoured",
    "ignored": "IGNORED: other resources come back; tuneops checks every label itself",
    "rejected": "REFUSED (INVALID_ARGUMENT); tuneops lists without it and checks labels itself",
    "unknown": "cannot tell",
}


def doctor_command(*, root: Path, location: str, output: Output, console: Console) -> int:
    report = diagnose(root, location)
    if output == "json":
        console.print_json(json.dumps(asdict(report)))
        return 0
    lines = [f"Checked {report.where}; nothing was launched. The only write: a scratch object "
             f"{report.scratch}, created and deleted."]
    for probe in report.lists:
        named = {None: "", True: "; names carry the project number",
                 False: "; names carry the project id"}[probe.numbered]
        lines.append(f"  list filter, {probe.what}: {FILTER_WORDS[probe.filter]} "
                     f"({probe.evidence}){named}")
    lines.append("  staging bucket preconditions: " + (
        "enforced (a second create-if-absent is refused): launch leases hold"
        if report.preconditions else
        "NOT ENFORCED: a second create-if-absent succeeded, so launch leases cannot keep two "
        "applies from launching one tuning job twice"))
    lines += [f"  {name} {version}" for name, version in report.libraries.items()]
    console.print("\n".join(escape(line) for line in lines), highlight=False)
    return 0 if report.preconditions else 1
