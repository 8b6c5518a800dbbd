"""GenAiTuningService v1beta1: open-model supervised tuning jobs (tuneops' kind `open-model`)."""

from reconciler.emulator.open_models.service import SERVICE
from reconciler.emulator.open_models.store import OpenModelTuningJobs

__all__ = ["SERVICE", "OpenModelTuningJobs"]
