"""PURE: how a tuned Gemini model is evaluated: each example of its evaluation dataset (the
kind's own JSONL) splits into the prompt GenerateContent sends and the reference its answer
is scored against.

A line is a conversation ending with a model turn (tuning_job_datasets.py checks it): the
turns before that last one are the prompt, its text is the reference. The dataset format's
keys are the REST API's camelCase JSON names, which GenerateContentRequest takes under its
proto field names (prediction_service.proto, content.proto: `system_instruction`,
`file_data`, `mime_type`, `file_uri`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kinds.base import EvaluationSpec, PromotionSpec, Prompt, Question
from reconciler.kinds.gemini import PREDICTION_PRICES

_FILE_DATA = {"mimeType": "mime_type", "fileUri": "file_uri"}


def _part(part: Mapping[str, Any]) -> dict[str, Any]:
    if "fileData" in part:
        return {"file_data": {_FILE_DATA.get(key, key): value
                              for key, value in part["fileData"].items()}}
    return {"text": part["text"]}


def _content(turn: Mapping[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {"parts": [_part(part) for part in turn.get("parts", [])]}
    if "role" in turn:
        content["role"] = turn["role"]
    return content


class GeminiEvaluator:
    def settings(self, spec: Any) -> tuple[EvaluationSpec | None, PromotionSpec | None]:
        return spec.evaluation, spec.promotion

    def split(self, record: dict[str, Any]) -> tuple[Question, str]:
        *asked, answer = record["contents"]
        instruction = record.get("systemInstruction")
        reference = "".join(part.get("text", "") for part in answer.get("parts", []))
        return Prompt(contents=tuple(_content(turn) for turn in asked),
                      system_instruction=_content(instruction) if instruction else None
                      ), reference

    def price(self, spec: Any, prices: Mapping[str, float]) -> tuple[str, float | None]:
        model = str(spec.base_model)
        return model, prices.get(model, PREDICTION_PRICES.get(model))


GEMINI_EVALUATOR = GeminiEvaluator()
