"""Golden fingerprints: no code change may make an existing job re-tune.

The values below were computed by tuneops before job kinds existed (commit ed6d17d). The
fingerprint names the pipeline job (`{name}-{fingerprint[:12]}`) and the dataset content
hash names the staged object, so a change to either relaunches every job ever tuned. Never
edit these values to make a test pass; a deliberate change needs a migration.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import Repo

MORE_JOBS = """\
name: snippets-eu
task: code-generation
dataset_uri: datasets/bigquery.jsonl
tuning_location: europe-west4
train_steps: 500
learning_rate_multiplier: 0.5
---
name: snippets-eval-tuned
task: code-generation
dataset_uri: datasets/bigquery.jsonl
evaluation_data_uri: datasets/bigquery-eval.jsonl
evaluation_interval: 40
enable_early_stopping: false
tensorboard_resource_id: "123"
encryption_spec_key_name: projects/p/locations/us-central1/keyRings/k/cryptoKeys/c
model_display_name: Snippets
description: tuned snippets
labels: {team: data, env: prod}
---
name: vision-chat-eu
task: code-chat
dataset_uri: datasets/vision-chat.jsonl
tuning_location: europe-west4
train_steps: 1000
"""
BIGQUERY = "cf4bccaff2613ca0674564c0340fdb05a7668147"
BIGQUERY_EVAL = "ac9eab6f4494db6694e442834ed9ff5c6f1ec745"
VISION = "578e6a5845332e3de6e818f307cef049a0fcac9d"
# name -> (fingerprint, training dataset hash, evaluation dataset hash)
GOLDEN = {
    "bigquery-snippets": ("a9cf6ed8fe110a46a2dd73be6406a9261037a246", BIGQUERY, BIGQUERY_EVAL),
    "cloud-vision-chat": ("7c79e31b67972fb88a9bf30dde595714eccd94b6", VISION, None),
    "snippets-eu": ("fec6a55fdd65672c82c1eeefb678cd09a2f17638", BIGQUERY, None),
    "snippets-eval-tuned": ("797184cb369484ac00010816c2d3934da87c6345", BIGQUERY, BIGQUERY_EVAL),
    "vision-chat-eu": ("d76615134ff5d91d0574511c373b66fabc8e1894", VISION, None),
}


def _planned(repo: Repo) -> dict[str, tuple[str, str, str | None, str]]:
    result = repo.run("plan", "--output", "json")
    assert result.code == 0, result.err
    found = {}
    for action in json.loads(result.out)["actions"]:
        labels = action["launch"]["labels"]
        found[action["name"]] = (labels["tuneops-fingerprint"], labels["tuneops-dataset"],
                                 labels.get("tuneops-eval-dataset"), action["job_id"])
    return found


@pytest.mark.parametrize("explicit_kind", [False, True], ids=["default-kind", "kind-pipeline"])
def test_fingerprints_and_dataset_hashes_never_change(repo: Repo, explicit_kind: bool) -> None:
    repo.write("configs/more.yaml", MORE_JOBS)
    if explicit_kind:
        for path in (repo.root / "configs").glob("*.yaml"):
            if path.name != "reconciler.yaml":
                text = path.read_text(encoding="utf-8")
                path.write_text(re.sub(r"^name: ", "kind: pipeline\nname: ", text,
                                       flags=re.MULTILINE), encoding="utf-8")
    planned = _planned(repo)
    assert set(planned) == set(GOLDEN)
    for name, (fingerprint, dataset, evaluation) in GOLDEN.items():
        assert planned[name] == (fingerprint, dataset, evaluation,
                                 f"{name}-{fingerprint[:12]}"), name
