"""Every float field of every kind (and of the settings) reads `2e-4` as the number its
writer meant, though PyYAML's YAML 1.1 leaves it a string."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from reconciler.core.numbers import exponent_as_number
from reconciler.kinds import KINDS
from reconciler.load.config import Settings, load_config
from reconciler.load.desired import build_desired
from tests.conftest import GEMINI_CONFIG, OPEN_MODEL_CONFIG, Repo

SETTINGS = "configs/reconciler.yaml"


def _floats(annotation: Any, path: str, validated: bool = False
            ) -> Iterator[tuple[str, bool]]:
    """(path, whether it reads exponents) of each float inside a field's annotation."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        reads = validated or any(getattr(m, "func", None) is exponent_as_number
                                 for m in metadata)
        yield from _floats(base, path, reads)
    elif annotation is float:
        yield path, validated
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            yield from _floats(Annotated[(field.annotation, *field.metadata)]
                               if field.metadata else field.annotation, f"{path}.{name}")
    elif origin in (Union, types.UnionType, list, tuple, dict):
        for arg in get_args(annotation):
            yield from _floats(arg, path + ("[]" if origin in (list, tuple, dict) else ""),
                               validated)


FLOATS = [found for model in (*(kind.spec for kind in KINDS.values()), Settings)
          for found in _floats(model, model.__name__)]


def test_every_float_field_is_found() -> None:
    """The walk reaches nested specs and mappings: it would miss nothing new."""
    paths = {path for path, _ in FLOATS}
    assert {"PipelineSpec.learning_rate_multiplier", "TuningJobSpec.learning_rate_multiplier",
            "OpenModelSpec.learning_rate", "TuningJobSpec.promotion.min_score",
            "OpenModelSpec.promotion.min_score", "Settings.prices[]",
            "Settings.prediction_prices[]", "Settings.budget.max_per_apply"} <= paths


@pytest.mark.parametrize(("path", "reads"), FLOATS, ids=[path for path, _ in FLOATS])
def test_every_float_field_reads_an_exponent_as_a_number(path: str, reads: bool) -> None:
    assert reads, f"{path} is a float without reconciler.core.numbers.YAML_NUMBER"


@pytest.mark.parametrize(("written", "number"), [
    ("2e-4", 2e-4), ("1E-5", 1e-5), ("1e3", 1000.0), ("2.0e4", 20000.0), ("-3e+2", -300.0),
    (".5e1", 5.0), ("1e", "1e"), ("e3", "e3"), ("1.5", "1.5"), ("two", "two"), (3, 3),
])
def test_only_exponent_notation_is_read(written: Any, number: Any) -> None:
    assert exponent_as_number(written) == number


def _load(repo: Repo) -> dict[str, Any]:
    config = load_config(repo.root)
    desired = build_desired(config)
    return {"fingerprints": {job.name: job.fingerprint for job in desired.jobs},
            "settings": config.settings}


def test_every_kind_and_the_settings_read_exponents_from_yaml(
        mixed_repo: Repo) -> None:
    """Through the real loader: the same fingerprints as the dotted forms, the same
    settings; nothing re-tunes."""
    eval_line = (mixed_repo.root / "datasets/bigquery-llama-validation.jsonl").read_text()
    mixed_repo.write("datasets/llama-eval.jsonl", eval_line)
    with (mixed_repo.root / OPEN_MODEL_CONFIG).open("a") as config:
        config.write("evaluation: {dataset_uri: datasets/llama-eval.jsonl, metric: bleu}\n"
                     "promotion: {channel: llama, min_score: 0.5}\n")
    mixed_repo.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: 3\n"
                    "learning_rate_multiplier: 0.5")
    with (mixed_repo.root / SETTINGS).open("a") as settings:
        settings.write("prices: {gemini-2.5-flash: 5.0}\nprediction_prices: "
                       "{gemini-2.5-flash: 0.25}\nbudget: {max_per_apply: 1000.0}\n")
    dotted = _load(mixed_repo)
    for path, old, new in [
            ("configs/bigquery-snippets.yaml", "learning_rate_multiplier: 1.0",
             "learning_rate_multiplier: 1e0"),
            (GEMINI_CONFIG, "learning_rate_multiplier: 0.5", "learning_rate_multiplier: 5e-1"),
            (OPEN_MODEL_CONFIG, "learning_rate: 2e-4", "learning_rate: 2.0e-4"),
            (OPEN_MODEL_CONFIG, "min_score: 0.5", "min_score: 5e-1"),
            (SETTINGS, "gemini-2.5-flash: 5.0}", "gemini-2.5-flash: 5e0}"),
            (SETTINGS, "gemini-2.5-flash: 0.25}", "gemini-2.5-flash: 25e-2}"),
            (SETTINGS, "max_per_apply: 1000.0", "max_per_apply: 1e3")]:
        mixed_repo.edit(path, old, new)
    assert "1e0" in (mixed_repo.root / "configs/bigquery-snippets.yaml").read_text()
    assert _load(mixed_repo) == dotted
    result = mixed_repo.run("validate")
    assert result.code == 0, result.err
