"""EvaluationService: scoring a model's answers against references.

`EvaluationServiceClient.evaluate_instances` (google-cloud-aiplatform aiplatform_v1;
googleapis evaluation_service.proto): EvaluateInstancesRequest has `location`
(`projects/{project}/locations/{location}`) and one of `exact_match_input`, `bleu_input`,
`rouge_input`, each a `metric_spec` and repeated `instances` of (`prediction`,
`reference`); the response holds `exact_match_results.exact_match_metric_values`,
`bleu_results.bleu_metric_values` or `rouge_results.rouge_metric_values`, one `score` per
instance, "served in the same order as presented". A run's score is their mean.

How many instances one request may carry is undocumented; requests carry at most
BATCH_INSTANCES, which keeps them far below gRPC's message limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.backends.calls import Caller, retry_policy
from reconciler.errors import BackendError

BATCH_INSTANCES = 100


@dataclass(frozen=True)
class _Metric:
    # The request's input field, its metric_spec, the response's results and values fields.
    input: str
    spec: dict[str, Any]
    results: str
    values: str


# rouge_l is ROUGE-L (RougeSpec.rouge_type "rougeL", one of "rougen[1-9], rougeL, and
# rougeLsum"); BLEU with effective order, as sentence-level BLEU needs for short answers.
METRICS: dict[str, _Metric] = {
    "exact_match": _Metric("exact_match_input", {}, "exact_match_results",
                           "exact_match_metric_values"),
    "bleu": _Metric("bleu_input", {"use_effective_order": True}, "bleu_results",
                    "bleu_metric_values"),
    "rouge_l": _Metric("rouge_input", {"rouge_type": "rougeL", "use_stemmer": True},
                       "rouge_results", "rouge_metric_values"),
}


class Scorer:
    """EvaluateInstances for one project, with a client per region."""

    def __init__(self, caller: Caller, clients: dict[str, Any]) -> None:
        self._call = caller
        self._clients = clients

    def score(self, location: str, metric: str, pairs: Sequence[tuple[str, str]]
              ) -> list[float]:
        """One score per (prediction, reference), in order."""
        found: list[float] = []
        for start in range(0, len(pairs), BATCH_INSTANCES):
            found += self._batch(location, metric, pairs[start:start + BATCH_INSTANCES])
        return found

    def _batch(self, location: str, metric: str, pairs: Sequence[tuple[str, str]]
               ) -> list[float]:
        chosen = METRICS[metric]
        client = self._clients[location]
        request = {"location": f"projects/{self._call.project}/locations/{location}",
                   chosen.input: {"metric_spec": chosen.spec, "instances": [
                       {"prediction": prediction, "reference": reference}
                       for prediction, reference in pairs]}}
        response = self._call(f"scoring {len(pairs)} answers ({metric}) in {location}",
                              lambda: client.evaluate_instances(request=request,
                                                                retry=retry_policy()))
        values = getattr(getattr(response, chosen.results), chosen.values)
        if len(values) != len(pairs):
            raise BackendError(f"EvaluateInstances returned {len(values)} scores for "
                               f"{len(pairs)} answers ({metric})")
        return [float(value.score) for value in values]
