"""THE registry of the emulator's Vertex AI services, one sub-package each.

A service that runs a kind of tuning job (pipelines/, tuning_jobs/) is that kind's emulator:
adding a kind adds its sub-package and its entry below. The models service serves the
Models and Endpoints every such service's jobs register, prediction/ answers on a tuned
Model's Endpoint and evaluation/ scores answers; the Cloud Storage emulator (gcs/) runs
beside them on its own port.
"""

from __future__ import annotations

from reconciler.emulator import (
    evaluation,
    models,
    open_models,
    operations,
    pipelines,
    prediction,
    tuning_jobs,
)
from reconciler.emulator.service import Service

SERVICES: tuple[Service, ...] = (
    pipelines.SERVICE, tuning_jobs.SERVICE, open_models.SERVICE, models.SERVICE,
    operations.SERVICE, prediction.SERVICE, evaluation.SERVICE)
# The quota each kind of job draws on (`reconcile emulator quota LOCATION:KIND=N`).
QUOTA_METRICS = {service.jobs.quota.kind: service.jobs.quota for service in SERVICES
                 if service.jobs}
QUOTA_KINDS = tuple(QUOTA_METRICS)
