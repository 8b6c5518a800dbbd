"""`read_mask` on ListPipelineJobs: keep only the named fields (and always `name`).

googleapis pipeline_service.proto, ListPipelineJobsRequest.read_mask: "Mask specifying which
fields to read." An unknown path is refused rather than silently ignored.
"""

from __future__ import annotations

from google.cloud.aiplatform_v1.types.pipeline_job import PipelineJob
from google.protobuf import field_mask_pb2

from reconciler.emulator.errors import invalid


def check_read_mask(mask: field_mask_pb2.FieldMask) -> None:
    if mask.paths and not mask.IsValidForDescriptor(PipelineJob.pb().DESCRIPTOR):
        raise invalid(
            f"read_mask paths {', '.join(mask.paths)} name fields PipelineJob does not have"
        )


def apply_read_mask(job: PipelineJob, mask: field_mask_pb2.FieldMask) -> PipelineJob:
    if not mask.paths:
        return job
    masked = PipelineJob.pb(PipelineJob(name=job.name))
    mask.MergeMessage(PipelineJob.pb(job), masked)
    result: PipelineJob = PipelineJob.wrap(masked)
    return result
