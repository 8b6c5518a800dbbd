"""PredictionService: GenerateContent on a tuned model's endpoint."""

from reconciler.emulator.prediction.service import SERVICE
from reconciler.emulator.prediction.tuned import remember

__all__ = ["SERVICE", "remember"]
