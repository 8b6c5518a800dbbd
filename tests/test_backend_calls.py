"""backends.calls: which errors are retried; a job message across API versions."""

from __future__ import annotations

from google.api_core import exceptions

from reconciler.backends.calls import as_version, retry_policy


def test_message_too_large_is_not_retried_but_quota_is() -> None:
    predicate = retry_policy()._predicate
    assert predicate(exceptions.ResourceExhausted("Quota exceeded for tuning jobs"))
    assert predicate(exceptions.ServiceUnavailable("try again"))
    assert not predicate(exceptions.ResourceExhausted(
        "Received message larger than max (52428900 vs. 4194304)"))
    assert not predicate(exceptions.InvalidArgument("bad"))


def test_a_job_listed_through_v1_reads_back_every_v1beta1_field() -> None:
    """Kinds sharing a collection share its listing: a job made through v1beta1 and listed
    through v1 keeps the fields v1 lacks, and reads back whole as v1beta1's message."""
    from google.cloud import aiplatform_v1, aiplatform_v1beta1  # noqa: PLC0415

    made = aiplatform_v1beta1.TuningJob(
        name="projects/p/locations/us-central1/tuningJobs/1", output_uri="gs://b/out",
        supervised_tuning_spec={"tuning_mode": "TUNING_MODE_FULL",
                                "hyper_parameters": {"learning_rate": 2e-4, "batch_size": 4}})
    listed = aiplatform_v1.TuningJob.deserialize(aiplatform_v1beta1.TuningJob.serialize(made))
    assert as_version(listed, aiplatform_v1beta1.TuningJob) == made
    assert as_version(made, aiplatform_v1beta1.TuningJob) is made
