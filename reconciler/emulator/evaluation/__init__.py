"""EvaluationService: EvaluateInstances for exact match, BLEU and ROUGE."""

from reconciler.emulator.evaluation.service import SERVICE

__all__ = ["SERVICE"]
