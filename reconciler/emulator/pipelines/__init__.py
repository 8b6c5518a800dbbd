"""PipelineService: the reference's code-bison tuning pipelines (tuneops' kind `pipeline`)."""

from reconciler.emulator.pipelines.service import SERVICE
from reconciler.emulator.pipelines.store import PipelineJobs

__all__ = ["SERVICE", "PipelineJobs"]
