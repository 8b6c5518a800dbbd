"""Properties over generated input: the loader fails only one way, fingerprints depend on
exactly the weights, and apply converges."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import main
from reconciler.errors import ConfigError
from reconciler.load.config import load_config
from reconciler.load.desired import build_desired
from tests.conftest import EXAMPLES, git

GENERATION = "".join(json.dumps({"input_text": f"Write the code in Python: f{i}",
                                 "output_text": f"def f{i}(): pass"}) + "\n" for i in range(12))
CHAT = "".join(json.dumps({"messages": [{"author": "user", "content": f"q{i}"},
                                        {"author": "assistant", "content": f"a{i}"}]}) + "\n"
               for i in range(12))
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def repository(jobs: str | bytes = "") -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "configs").mkdir()
        (root / "datasets").mkdir()
        (root / "configs/reconciler.yaml").write_text("region: us-central1\n")
        (root / "datasets/train.jsonl").write_text(GENERATION)
        (root / "datasets/eval.jsonl").write_text(GENERATION)
        (root / "datasets/chat.jsonl").write_text(CHAT)
        job_file = root / "configs/job.yaml"
        if isinstance(jobs, bytes):
            job_file.write_bytes(jobs)
        else:
            job_file.write_text(jobs, encoding="utf-8")
        yield root


def _loads_or_config_error(jobs: str | bytes) -> None:
    with repository(jobs) as root:
        try:
            build_desired(load_config(root))
        except ConfigError as error:
            assert error.problems
            assert all(str(problem).startswith("configs/") for problem in error.problems)


@FAST
@given(st.binary(max_size=2_000))
def test_any_bytes_load_or_give_config_errors(data: bytes) -> None:
    _loads_or_config_error(data)


YAML_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
).map(lambda value: yaml.safe_dump(value, default_flow_style=None))


@FAST
@given(st.one_of(YAML_TEXT, st.text(max_size=500)))
def test_any_yaml_loads_or_gives_config_errors(text: str) -> None:
    _loads_or_config_error(text)


WEIGHTS: dict[str, st.SearchStrategy[Any]] = {
    "train_steps": st.integers(1, 100_000),
    "learning_rate_multiplier": st.floats(0.01, 10, allow_nan=False),
    "tuning_location": st.sampled_from(["us-central1", "europe-west4"]),
    "evaluation_interval": st.integers(1, 1000),
    "enable_early_stopping": st.booleans(),
}
METADATA: dict[str, st.SearchStrategy[Any]] = {
    "model_display_name": st.text("abc XYZ", min_size=1, max_size=10),
    "description": st.text("abc ", max_size=10),
    "labels": st.dictionaries(st.sampled_from(["team", "tier"]), st.sampled_from(["a", "b"])),
}
SPEC = st.fixed_dictionaries({
    "name": st.just("job"), "task": st.just("code-generation"),
    "dataset_uri": st.just("datasets/train.jsonl"),
    "evaluation_data_uri": st.just("datasets/eval.jsonl"),
}, optional={**WEIGHTS, **METADATA})


def _fingerprint(jobs: str) -> str:
    with repository(jobs) as root:
        (job,) = build_desired(load_config(root)).jobs
        return job.fingerprint


def _render(spec: dict[str, Any], rng: random.Random) -> str:
    """The same document in another YAML spelling: key order, style, comments, blank lines."""
    items = list(spec.items())
    rng.shuffle(items)
    if rng.random() < 0.5:
        return "# generated\n" + yaml.safe_dump(dict(items), sort_keys=False,
                                                 default_flow_style=True)
    lines = []
    for key, value in items:
        if rng.random() < 0.5:
            text = f"{key}: {json.dumps(value)}"  # JSON is flow-style YAML
        else:
            text = yaml.safe_dump({key: value}, default_flow_style=False).strip()
        lines.append(text + ("   # note" if rng.random() < 0.3 else ""))
        if rng.random() < 0.3:
            lines.append("")
    return "\n".join(lines) + "\n"


@FAST
@given(SPEC, st.randoms(use_true_random=False))
def test_fingerprint_ignores_yaml_spelling_and_metadata(spec: dict[str, Any],
                                                        rng: random.Random) -> None:
    canonical = yaml.safe_dump(spec)
    assert _fingerprint(_render(spec, rng)) == _fingerprint(canonical)
    bare = {k: v for k, v in spec.items() if k not in METADATA}
    assert _fingerprint(yaml.safe_dump(bare)) == _fingerprint(canonical)


@FAST
@given(SPEC, st.sampled_from(sorted(WEIGHTS)), st.data())
def test_fingerprint_changes_with_every_weight(spec: dict[str, Any], field: str,
                                              data: st.DataObject) -> None:
    before = {**spec}
    before.setdefault(field, {"train_steps": 300, "learning_rate_multiplier": 1.0,
                              "tuning_location": "us-central1", "evaluation_interval": 20,
                              "enable_early_stopping": True}[field])
    other = data.draw(WEIGHTS[field].filter(lambda value: value != before[field]))
    after = {**before, field: other}
    assert _fingerprint(yaml.safe_dump(before)) != _fingerprint(yaml.safe_dump(after))


JOBS = st.lists(
    st.fixed_dictionaries({
        "task": st.sampled_from(["code-generation", "code-chat"]),
        "train_steps": st.integers(200, 1000),
        "labels": st.dictionaries(st.sampled_from(["team"]), st.sampled_from(["a", "b"])),
    }),
    min_size=1, max_size=4,
)


@settings(deadline=None, max_examples=8,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(JOBS, st.integers(0, 2))
def test_plan_apply_plan_converges(capsys: pytest.CaptureFixture[str],
                                   jobs: list[dict[str, Any]], advances: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        shutil.copytree(EXAMPLES / "datasets", root / "datasets")
        (root / "configs").mkdir()
        (root / "configs/reconciler.yaml").write_text("region: us-central1\n")
        documents = [{"name": f"job-{index}", **job,
                      "dataset_uri": "datasets/bigquery.jsonl"
                      if job["task"] == "code-generation" else "datasets/vision-chat.jsonl"}
                     for index, job in enumerate(jobs)]
        (root / "configs/jobs.yaml").write_text(yaml.safe_dump_all(documents))
        git(root, "init", "-q")
        for _ in range(advances):  # converge from a state where earlier runs finished
            assert main(["apply", "--root", str(root)]) == 0
            assert main(["emulator", "advance", "3600", "--root", str(root)]) == 0
        assert main(["apply", "--root", str(root)]) == 0
        capsys.readouterr()
        assert main(["plan", "--output", "json", "--root", str(root)]) == 0
        plan = json.loads(capsys.readouterr().out)
        assert {action["action"] for action in plan["actions"]} <= {"noop", "running"}
