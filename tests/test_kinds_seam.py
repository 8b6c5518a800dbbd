"""A kind of job lives in its own places only: adding one touches no other module.

The rule, checked on every module of the package: outside reconciler/kinds/, each kind's
backend adapter module and each kind's emulator service sub-package, and apart from the
three registries (kinds/__init__.py, backends/all_adapters.py, emulator/all_services.py),
no module's code names a particular kind. A module names kind K when it

1. has K's name as a string ("pipeline", "tuning-job"), or a string holding the
   collection of K's jobs ("pipelineJobs", "tuningJobs": `.../pipelineJobs/ID`);
2. imports a module of K's own (its kind module and the kinds/ modules only it uses, its
   adapter, its emulator sub-package), or a name one of them defines, from wherever;
3. imports from the SDK (google.*) a name that, of the services, only K's own modules
   import: the types of K's service (PipelineJob, TuningJob, PipelineState...). A name the
   services of no kind import too (Model, Endpoint: the Model Registry's) is everyone's.

Comments and docstrings are prose: they may mention a kind.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args, get_origin, get_type_hints

import pytest

from reconciler.backends.all_adapters import ADAPTERS
from reconciler.emulator.all_services import QUOTA_KINDS, SERVICES
from reconciler.emulator.service import Service
from reconciler.kinds import KINDS, Launch
from reconciler.kinds.base import Kind

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reconciler"
REGISTRIES = {"reconciler.kinds", "reconciler.backends.all_adapters",
              "reconciler.emulator.all_services"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def imports(tree: ast.AST) -> Iterator[tuple[str, str | None]]:
    """(module, name) of every import, anywhere in the module (lazy ones too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield from ((node.module, alias.name) for alias in node.names)


def docstrings(tree: ast.AST) -> set[int]:
    """The docstring nodes of a module, its classes and functions (by id)."""
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, owners) and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)}


def defined(tree: ast.Module) -> set[str]:
    """The public names a module defines at its top level."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return {name for name in names if not name.startswith("_")}


def _kind_modules(start: str) -> set[str]:
    """A kind module and the kinds/ modules it imports, directly or not."""
    found, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module in found:
            continue
        found.add(module)
        todo += [m for m, _ in imports(TREES[module])
                 if m.startswith("reconciler.kinds.") and m in MODULES]
    return found


def _service_modules(service: Service) -> set[str]:
    """A service's sub-package (reconciler.emulator.X), or the one module it is."""
    place = ".".join(service.serve.__module__.split(".")[:3])
    return {m for m in MODULES if m == place or m.startswith(place + ".")}


def own_modules() -> dict[str, set[str]]:
    """Each kind's own modules: in kinds/ those only it uses, its adapter, its emulator."""
    reach = {name: _kind_modules(type(kind).__module__) for name, kind in KINDS.items()}
    owned = {name: {m for m in modules if sum(m in r for r in reach.values()) == 1}
             for name, modules in reach.items()}
    for entry in ADAPTERS:
        owned[entry.kind.name].add(entry.make.__module__)
    for service in SERVICES:
        if service.jobs is not None:
            owned[service.jobs.quota.kind] |= _service_modules(service)
    return owned


# The services that run no kind's jobs (the Model Registry, operations): what they import
# from the SDK belongs to every kind.
NEUTRAL = set().union(*(_service_modules(s) for s in SERVICES if s.jobs is None))


def _api(module: str) -> str:
    """An SDK module as its API package: a name is the same whether imported from the package
    (`aiplatform_v1.types`) or from the module defining it (`types.tuning_job`)."""
    return ".".join(module.split(".")[:3]) if module.startswith("google.cloud.") else module


@dataclass
class Marks:
    """What names one kind in code."""

    kind: str
    collection: str
    modules: set[str]
    names: set[str] = field(default_factory=set)
    sdk: set[tuple[str, str]] = field(default_factory=set)

    def found_in(self, tree: ast.AST) -> list[str]:
        prose = docstrings(tree)
        found = [f"line {node.lineno}: the string {node.value!r}" for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)
                 and id(node) not in prose
                 and (node.value == self.kind or self.collection in node.value)]
        for module, name in imports(tree):
            target = f"{module}.{name}" if name else module
            if module in self.modules or target in self.modules:
                found.append(f"imports {target}")
            elif name in self.names or (_api(module), name) in self.sdk:
                found.append(f"imports {name} from {module}")
        return found


def marks() -> list[Marks]:
    owned = own_modules()
    collections = {entry.kind.name: entry.collection for entry in ADAPTERS}
    result = []
    for kind, modules in owned.items():
        others = set().union(*(m for k, m in owned.items() if k != kind))
        names = set().union(*(defined(TREES[m]) for m in modules))
        names -= set().union(*(defined(TREES[m]) for m in MODULES if m not in modules))
        sdk = {(_api(module), name) for m in modules for module, name in imports(TREES[m])
               if module.startswith("google") and name is not None}
        sdk -= {(_api(module), name) for m in others | NEUTRAL
                for module, name in imports(TREES[m])}
        result.append(Marks(kind, collections[kind], modules, names, sdk))
    return result


def shared_modules(owned: Iterable[str]) -> list[str]:
    own = set(owned) | REGISTRIES
    return [m for m in MODULES if m not in own and not m.startswith("reconciler.kinds.")]


MARKS = marks()
SHARED = shared_modules(m for mark in MARKS for m in mark.modules)


@pytest.mark.parametrize("module", SHARED)
def test_no_shared_module_names_a_kind(module: str) -> None:
    found = {mark.kind: mark.found_in(TREES[module]) for mark in MARKS}
    assert not any(found.values()), f"{module} names a kind: {found}"


def test_every_kind_has_its_adapter_and_its_emulator_service() -> None:
    assert sorted(KINDS) == sorted(entry.kind.name for entry in ADAPTERS) == sorted(QUOTA_KINDS)


def test_each_kind_owns_its_places() -> None:
    owned = {mark.kind: mark.modules for mark in MARKS}
    assert {"reconciler.kinds.pipeline", "reconciler.kinds.pipeline_datasets",
            "reconciler.backends.pipeline", "reconciler.emulator.pipelines.store"
            } <= owned["pipeline"]
    assert {"reconciler.kinds.tuning_job", "reconciler.kinds.gemini",
            "reconciler.backends.tuning_job", "reconciler.emulator.tuning_jobs.service"
            } <= owned["tuning-job"]
    assert {"reconciler.kinds.open_model", "reconciler.kinds.open_model_catalog",
            "reconciler.kinds.open_model_datasets", "reconciler.backends.open_model",
            "reconciler.emulator.open_models.service"} <= owned["open-model"]
    # Shared by every kind, or by both kinds of TuningJob, so none owns it.
    for shared in ("reconciler.kinds.base", "reconciler.kinds.tuning_api"):
        assert not any(shared in modules for modules in owned.values())
    assert len(SHARED) > 60


@pytest.mark.parametrize(("code", "expected"), [
    ('if launch.kind == "tuning-job": ...', "the string 'tuning-job'"),
    ('_JOB = re.compile(_PARENT + r"/pipelineJobs/(?P<id>[^/]+)")', "the string '/pipelineJobs/"),
    ("from reconciler.kinds.pipeline import MODEL_REGION", "imports reconciler.kinds.pipeline"),
    ("from reconciler.kinds import tuning_job", "imports reconciler.kinds.tuning_job"),
    ("from reconciler.emulator import pipelines", "imports reconciler.emulator.pipelines"),
    ("from reconciler.kinds import PipelineLaunch", "imports PipelineLaunch from"),
    ("from google.cloud.aiplatform_v1.types import TuningJob", "imports TuningJob from"),
    ("from google.cloud.aiplatform_v1.types import PipelineState", "imports PipelineState"),
    ("from google.cloud.aiplatform_v1.types.pipeline_state import PipelineState",
     "imports PipelineState"),
])
def test_the_rule_catches_what_the_old_code_did(code: str, expected: str) -> None:
    """Each line names a kind the way a shared module once did (backends/vertex.py's
    dispatch, emulator/lifecycle.py's states, load/config.py's Literal)."""
    found = [f for mark in MARKS for f in mark.found_in(ast.parse(code))]
    assert any(expected in f for f in found), found


def test_comments_and_docstrings_are_prose() -> None:
    code = '"""Pipelines and tuning jobs alike."""\n# a "pipeline" run\nx = "pipelines run"\n'
    assert [f for mark in MARKS for f in mark.found_in(ast.parse(code))] == []


def test_the_seam_is_typed() -> None:
    """Each kind is a Kind[Spec, Launch] of its own spec and launch, and the Launch union a
    saved plan is read through holds exactly those launches."""
    launches = []
    for kind in KINDS.values():
        base = next(b for b in type(kind).__orig_bases__ if get_origin(b) is Kind)
        spec, launch = get_args(base)
        assert spec is kind.spec
        assert get_args(get_type_hints(launch)["kind"]) == (kind.name,)
        launches.append(launch)
    assert set(get_args(Launch)) == set(launches)
