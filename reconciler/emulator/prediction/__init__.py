"""PredictionService: GenerateContent and Predict on a tuned model's endpoint."""

from reconciler.emulator.prediction.service import SERVICE
from reconciler.emulator.prediction.tuned import GENERATE_CONTENT, PREDICT, remember

__all__ = ["GENERATE_CONTENT", "PREDICT", "SERVICE", "remember"]
