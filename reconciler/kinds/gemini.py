"""PURE: the Gemini base models tuneops knows, with their documented tuning limits.

Source: "About supervised fine-tuning for Gemini models", Generative AI on Vertex AI
(cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning), section
"Limitations", read 2026-11. A base model missing here is a warning, not an error, so a model
works on the day it ships; the service then enforces its own limits.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

GB = 1_000_000_000


@dataclass(frozen=True)
class ModelLimits:
    # "Maximum input and output training tokens" of one example.
    max_tokens: int
    # "Maximum training dataset file size": 1GB for JSONL.
    max_training_bytes: int
    # "Maximum training dataset size": 1M text-only examples.
    max_training_examples: int
    # "Maximum validation dataset size".
    max_validation_examples: int
    # "Adapter size: supported values".
    adapter_sizes: tuple[int, ...]


_FLASH = ModelLimits(max_tokens=131_072, max_training_bytes=GB,
                   max_training_examples=1_000_000, max_validation_examples=5_000,
                   adapter_sizes=(1, 2, 4, 8, 16))
MODELS: dict[str, ModelLimits] = {
    "gemini-2.5-flash": _FLASH,
    "gemini-2.5-flash-lite": _FLASH,
    "gemini-2.5-pro": ModelLimits(max_tokens=131_072, max_training_bytes=GB,
                                max_training_examples=1_000_000,
                                max_validation_examples=5_000, adapter_sizes=(1, 2, 4, 8)),
}
# What an unknown model is checked against: the loosest documented limits, so nothing the
# service may accept is refused here.
UNKNOWN = ModelLimits(max_tokens=131_072, max_training_bytes=GB,
                    max_training_examples=1_000_000, max_validation_examples=5_000,
                    adapter_sizes=(1, 2, 4, 8, 16, 32))
# List prices of supervised tuning, US dollars per million training tokens (tokens of the
# training dataset times epochs), from "Vertex AI pricing" (cloud.google.com/vertex-ai/
# generative-ai/pricing), section Tuning, as read for this table on PRICES_AS_OF.
# Contracts differ: `prices:` in configs/reconciler.yaml overrides any of them.
PRICES_AS_OF = "2026-11"
PRICES: dict[str, float] = {
    "gemini-2.5-pro": 25.0,
    "gemini-2.5-flash": 5.0,
    "gemini-2.5-flash-lite": 1.5,
}
# List prices of a tuned model's answers, US dollars per million output tokens (text), from
# the same page's section on Gemini models, read on PRICES_AS_OF: "Tuned model endpoints are
# charged at the same rate as the base model". Evaluation prices every token of its
# examples at this rate (an upper bound: input tokens cost less); `prediction_prices:`
# overrides any of them.
PREDICTION_PRICES: dict[str, float] = {
    "gemini-2.5-pro": 10.0,
    "gemini-2.5-flash": 2.5,
    "gemini-2.5-flash-lite": 0.4,
}
# The docs: "we recommend starting with 100 examples".
RECOMMENDED_EXAMPLES = 100
# "A training dataset must include a minimum of 16 examples. For best results, we recommend
# that you provide at least 100 to 500 examples." ("Prepare supervised tuning data for Gemini
# models", cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-about,
# section "Training dataset"). Later versions of the page give only the recommendation; this
# is the minimum the service documented, and fewer examples is an error.
MIN_TRAINING_EXAMPLES = 16
# How alike two names must be for one to be a typo of the other (difflib's ratio):
# gemini-2.5-flsh is 0.97 like gemini-2.5-flash, gemini-2.5-flash-preview only 0.8.
TYPO_SIMILARITY = 0.85
_DIGITS = re.compile(r"[0-9]+")


def limits_of(base_model: str) -> ModelLimits:
    return MODELS.get(base_model, UNKNOWN)


def misspelling_of(base_model: str) -> str | None:
    """The known model `base_model` is a typo of, if any: spelt alike, with the same version
    digits. A clearly new name (another version such as gemini-2.0-flash, a -001 suffix, a
    new family) is none: a model must work the day it ships."""
    if base_model in MODELS:
        return None
    version = "".join(_DIGITS.findall(base_model))
    alike = [model for model in MODELS if "".join(_DIGITS.findall(model)) == version]
    close = difflib.get_close_matches(base_model, alike, n=1, cutoff=TYPO_SIMILARITY)
    return close[0] if close else None
