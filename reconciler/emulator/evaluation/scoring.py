"""EvaluationService.EvaluateInstances for the computation-based metrics (what service.py
serves, imported at the first call).

EvaluateInstancesRequest (evaluation_service.proto): `location` is required,
`projects/{project}/locations/{location}`; one of `exact_match_input`, `bleu_input`,
`rouge_input` (the autorater metrics are not emulated), each a `metric_spec` and repeated
`instances` whose `prediction` and `reference` are required. The response holds one
`*_metric_values` entry per instance, "served in the same order as presented".
"""

from __future__ import annotations

from google.cloud.aiplatform_v1.types.evaluation_service import (
    BleuMetricValue,
    BleuResults,
    EvaluateInstancesRequest,
    EvaluateInstancesResponse,
    ExactMatchMetricValue,
    ExactMatchResults,
    RougeMetricValue,
    RougeResults,
)

from reconciler.emulator.errors import invalid
from reconciler.emulator.evaluation import metrics
from reconciler.emulator.names import parse_parent
from reconciler.emulator.service import State
from reconciler.emulator.tables import stored_quirks

EMULATED = ("exact_match_input", "bleu_input", "rouge_input")


def _pairs(metric: str, instances: list[object]) -> list[metrics.Pair]:
    if not instances:
        raise invalid(f"{metric}.instances is required")
    found = []
    for index, instance in enumerate(instances):
        message = type(instance).pb(instance)  # type: ignore[attr-defined]
        for field in ("prediction", "reference"):
            if not message.HasField(field):
                raise invalid(f"{metric}.instances[{index}].{field} is required")
        found.append((message.prediction, message.reference))
    return found


class EvaluationService:
    def __init__(self, state: State) -> None:
        self._state = state

    def evaluate(self, request: EvaluateInstancesRequest) -> EvaluateInstancesResponse:
        parse_parent(request.location, self._state.locations)
        chosen = EvaluateInstancesRequest.pb(request).WhichOneof("metric_inputs")
        if chosen not in EMULATED:
            raise invalid(f"metric input {chosen or '(none)'} is not emulated; use one of "
                          f"{', '.join(EMULATED)}")
        given = getattr(request, chosen)
        pairs = _pairs(chosen, list(given.instances))
        if chosen == "exact_match_input":
            return EvaluateInstancesResponse(exact_match_results=ExactMatchResults(
                exact_match_metric_values=[ExactMatchMetricValue(score=score)
                                           for score in metrics.exact_match(pairs)]))
        if chosen == "bleu_input":
            scores = metrics.bleu(pairs, use_effective_order=given.metric_spec.use_effective_order)
            return EvaluateInstancesResponse(bleu_results=BleuResults(
                bleu_metric_values=[BleuMetricValue(score=score) for score in scores]))
        with self._state.db.read() as conn:
            recall = stored_quirks(conn).rouge_recall
        spec = given.metric_spec
        scores = metrics.rouge(pairs, rouge_type=spec.rouge_type, use_stemmer=spec.use_stemmer,
                               split_summaries=spec.split_summaries, recall=recall)
        return EvaluateInstancesResponse(rouge_results=RougeResults(
            rouge_metric_values=[RougeMetricValue(score=score) for score in scores]))

