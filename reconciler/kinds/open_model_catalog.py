"""PURE: the open models Vertex AI tunes, with what is documented of each.

Sources, read 2026-12:
- "Tune an open model", Generative AI on Vertex AI (cloud.google.com/vertex-ai/generative-ai/
  docs/models/open-model-tuning): "Supported models" (the ids below), "Supported regions"
  (us-central1 and europe-west4; a later translation adds us-west1, us-east5 and
  asia-southeast1) and "Limitations" (tuning modes; maximum sequence length: Gemma 3 8192,
  Llama 3.1 8B 4096 for parameter-efficient and 8192 for full fine-tuning, Llama 3.2 1B 8192).
- GoogleCloudPlatform/vertex-ai-samples, skills/vertex-tuning/open-model/: references/
  models.md (the tuning modes of the models the page lists without them, baseline learning
  rates) and scripts/calculate_cost.py (tokens per character of each family's tokenizer).

Undocumented, and so left open here rather than guessed: the maximum sequence length of the
other models (the largest documented one, 8192, stands in), limits on dataset size, and any
price (Google publishes none for open-model tuning; calculate_cost.py's figures come from an
unpublished sheet). A model missing here is a warning, not an error, so a model works on the
day it ships; the service then enforces its own limits.
"""

from __future__ import annotations

from dataclasses import dataclass

FULL = "FULL"
PEFT = "PEFT_ADAPTER"
# The largest documented maximum sequence length: what a model without one is checked against.
LOOSEST_SEQUENCE = 8192
# calculate_cost.py's largest ratio (Llama, parameter-efficient): estimates of unknown models
# err on the side of more tokens.
MOST_TOKENS_PER_CHARACTER = 0.317


@dataclass(frozen=True)
class OpenModel:
    # "Tuning modes" of the Limitations table: FULL, PEFT_ADAPTER.
    modes: tuple[str, ...]
    # calculate_cost.py's tokens per character for the family (for Llama 3 the larger of its
    # two figures, 0.317 for adapter tuning against 0.247 full: estimates err high).
    tokens_per_character: float
    # "Maximum sequence length" by tuning mode; a mode missing is undocumented.
    max_sequence: tuple[tuple[str, int], ...] = ()

    def sequence_limit(self, mode: str) -> int:
        return dict(self.max_sequence).get(mode, LOOSEST_SEQUENCE)


_GEMMA, _LLAMA, _LLAMA_4, _QWEN = 0.231, 0.317, 0.295, 0.246
_FULL_8K = ((FULL, 8192),)
MODELS: dict[str, OpenModel] = {
    "google/gemma3@gemma-3-1b-it": OpenModel((FULL,), _GEMMA, _FULL_8K),
    "google/gemma3@gemma-3-4b-it": OpenModel((FULL,), _GEMMA, _FULL_8K),
    "google/gemma3@gemma-3-12b-it": OpenModel((FULL,), _GEMMA, _FULL_8K),
    "google/gemma3@gemma-3-27b-it": OpenModel((PEFT, FULL), _GEMMA, ((PEFT, 8192), (FULL, 8192))),
    # The id an earlier version of the page gave the same model.
    "google/gemma-3-27b-it": OpenModel((PEFT, FULL), _GEMMA, ((PEFT, 8192), (FULL, 8192))),
    "meta/llama3_1@llama-3.1-8b": OpenModel((PEFT, FULL), _LLAMA, ((PEFT, 4096), (FULL, 8192))),
    "meta/llama3_1@llama-3.1-8b-instruct": OpenModel((PEFT, FULL), _LLAMA,
                                                     ((PEFT, 4096), (FULL, 8192))),
    "meta/llama3-2@llama-3.2-1b-instruct": OpenModel((FULL,), _LLAMA, _FULL_8K),
    "meta/llama3-2@llama-3.2-3b-instruct": OpenModel((FULL,), _LLAMA),
    "meta/llama3-3@llama-3.3-70b-instruct": OpenModel((PEFT, FULL), _LLAMA),
    "meta/llama4@llama-4-scout-17b-16e-instruct": OpenModel((PEFT,), _LLAMA_4),
    "qwen/qwen3@qwen3-4b": OpenModel((FULL,), _QWEN),
    "qwen/qwen3@qwen3-8b": OpenModel((FULL,), _QWEN),
    "qwen/qwen3@qwen3-14b": OpenModel((FULL,), _QWEN),
    "qwen/qwen3@qwen3-32b": OpenModel((PEFT, FULL), _QWEN),
}
# What an unknown model is checked against: every mode, the loosest documented limit.
UNKNOWN = OpenModel((PEFT, FULL), MOST_TOKENS_PER_CHARACTER)
# The samples' baseline learning rates, smallest and largest (references/models.md).
BASELINE_LEARNING_RATES = (1e-7, 2e-4)
# The samples' data guide: "100 high-quality examples often outperform 1,000 noisy ones".
RECOMMENDED_EXAMPLES = 100
# The samples' data guide: a validation file "must be no more than 25% of the training dataset
# size"; their MetaMath notebook keeps it "less than 5000 rows for Vertex AI requirement".
MAX_VALIDATION_SHARE = 0.25
MAX_VALIDATION_EXAMPLES = 4999
# Undocumented for open models: the training-set limit Gemini's supervised tuning documents
# (1M examples), which also bounds the memory a plan takes to check a dataset.
MAX_TRAINING_EXAMPLES = 1_000_000


def model_of(base_model: str) -> OpenModel:
    return MODELS.get(base_model, UNKNOWN)
