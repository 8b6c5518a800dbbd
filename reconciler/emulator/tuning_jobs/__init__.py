"""GenAiTuningService: Gemini supervised tuning jobs (tuneops' kind `tuning-job`)."""

from reconciler.emulator.tuning_jobs.service import SERVICE
from reconciler.emulator.tuning_jobs.store import TuningJobs

__all__ = ["SERVICE", "TuningJobs"]
