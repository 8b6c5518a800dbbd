"""Per-instance scores of the computation-based metrics, by maintained implementations.

Which implementations Vertex AI runs is undocumented. BLEU is sacrebleu's sentence BLEU
(the reference implementation of the BLEU most papers report), on 0..1 as BleuSpec says
("returns a score ranging between 0 to 1"); ROUGE is Google Research's rouge-score, the
ROUGE-1.5.5 reimplementation, with RougeSpec's rouge_type, use_stemmer and split_summaries.
RougeSpec calls ROUGE "the recall of n-grams", while ROUGE-L is most often reported as its
F-measure: the emulator returns the F-measure unless the `rouge_recall` quirk is set.
Exact match "returns 1 if prediction and reference exactly matches, otherwise 0"
(ExactMatchSpec). The libraries are imported on the first call, not at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reconciler.emulator.errors import invalid

Pair = tuple[str, str]
# RougeSpec.rouge_type: "Supported rouge types are rougen[1-9], rougeL, and rougeLsum".
_ROUGE_TYPES = re.compile(r"rouge[1-9]|rougeL|rougeLsum")
# An empty rouge_type (the field is optional) has an undocumented default: rougeL here.
DEFAULT_ROUGE_TYPE = "rougeL"


def exact_match(pairs: Sequence[Pair]) -> list[float]:
    return [1.0 if prediction == reference else 0.0 for prediction, reference in pairs]


def bleu(pairs: Sequence[Pair], *, use_effective_order: bool) -> list[float]:
    from sacrebleu.metrics.bleu import BLEU  # noqa: PLC0415

    scorer = BLEU(effective_order=use_effective_order)
    return [scorer.sentence_score(prediction, [reference]).score / 100
            for prediction, reference in pairs]


def rouge(pairs: Sequence[Pair], *, rouge_type: str, use_stemmer: bool,
          split_summaries: bool, recall: bool) -> list[float]:
    kind = rouge_type or DEFAULT_ROUGE_TYPE
    if not _ROUGE_TYPES.fullmatch(kind):
        raise invalid(f"rouge_input.metric_spec.rouge_type {rouge_type!r} is not supported; "
                      "use rouge1..rouge9, rougeL or rougeLsum")
    from rouge_score import rouge_scorer  # noqa: PLC0415

    scorer = rouge_scorer.RougeScorer([kind], use_stemmer=use_stemmer,
                                      split_summaries=split_summaries)
    found = [scorer.score(reference, prediction)[kind] for prediction, reference in pairs]
    return [float(score.recall if recall else score.fmeasure) for score in found]
