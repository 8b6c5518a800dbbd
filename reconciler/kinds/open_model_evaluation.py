"""PURE: how a tuned open model is evaluated: each example of its evaluation dataset (the
kind's own JSONL, open_model_datasets.py) becomes one Predict instance for the endpoint its
Model is deployed to, and the reference its answer is scored against.

A tuned open model answers through the serving container it is deployed with, not
GenerateContent: Google's notebook for a model tuned by this service (GoogleCloudPlatform/
generative-ai, open-models/fine-tuning/get_started_with_oss_tuning_on_vertexai.ipynb) deploys
the run's artifacts from Model Garden and asks it with `endpoint.predict(instances=[{"prompt":
..., "max_tokens": ..., "temperature": ..., "raw_response": True}])`, each prediction the
generated text. So an instruction example (`prompt`, `completion`) is asked so. A chat example
(`messages`) is asked with the same container's chat format, `{"@requestFormat":
"chatCompletions", "messages": [...]}`, whose prediction is a chat completion (`choices[0].
message.content`): the model's chat template then applies, as it did in tuning. That format
is how Google's Model Garden samples ask Gemma and Llama endpoints; its reply's shape through
Predict is undocumented, so the answer is read from either shape.

The last turn (the assistant's, or the completion) is the reference, the turns before it the
question. Answers are greedy (temperature 0), so a run's score does not depend on sampling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kinds.base import EvaluationSpec, Instance, PromotionSpec, Question

CHAT_FORMAT = {"@requestFormat": "chatCompletions"}
# The most tokens an answer may take. The container's default is undocumented (the notebook
# sets 250 for a short answer); an answer cut short scores lower, so this errs high.
MAX_ANSWER_TOKENS = 1024
GREEDY = {"max_tokens": MAX_ANSWER_TOKENS, "temperature": 0}


def answer_of(prediction: Any) -> str:
    """The text of one prediction: the generated text itself (a prompt instance), or a chat
    completion's first choice (a chat instance); anything else is no answer."""
    if isinstance(prediction, str):
        return prediction
    if isinstance(prediction, list):
        return answer_of(prediction[0]) if prediction else ""
    if not isinstance(prediction, Mapping):
        return ""
    choices = prediction.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return ""
    choice = choices[0]
    message = choice.get("message")
    text = message.get("content") if isinstance(message, Mapping) else choice.get("text")
    return text if isinstance(text, str) else ""


class OpenModelEvaluator:
    def settings(self, spec: Any) -> tuple[EvaluationSpec | None, PromotionSpec | None]:
        return spec.evaluation, spec.promotion

    def split(self, record: dict[str, Any]) -> tuple[Question, str]:
        if "messages" in record:
            *asked, answer = record["messages"]
            body = {**CHAT_FORMAT, "messages": [dict(turn) for turn in asked], **GREEDY}
            return Instance(body, answer_of), str(answer["content"])
        # `raw_response`: the generated text alone, not "Prompt:\n...\nOutput:\n..." around it.
        body = {"prompt": record["prompt"], **GREEDY, "raw_response": True}
        return Instance(body, answer_of), str(record["completion"])

    def price(self, spec: Any, prices: Mapping[str, float]) -> tuple[str, float | None]:
        # A deployed open model is billed by its endpoint's machine hours, not by token: only
        # a figure the team sets under prediction_prices: prices its answers.
        model = str(spec.base_model)
        return model, prices.get(model)


OPEN_MODEL_EVALUATOR = OpenModelEvaluator()
