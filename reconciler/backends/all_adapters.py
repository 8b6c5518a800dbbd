"""THE registry of backend adapters: one per kind of job (reconciler/kinds/__init__.py).

Adding a kind's adapter is its module (backends/<kind>.py, defining ADAPTER) and its entry
below; the backend lists, creates, reads and cancels jobs through whichever owns them.
"""

from __future__ import annotations

from typing import Any

from reconciler.backends import open_model, pipeline, tuning_job
from reconciler.backends.adapter import AdapterKind

ADAPTERS: tuple[AdapterKind[Any], ...] = (
    pipeline.ADAPTER, tuning_job.ADAPTER, open_model.ADAPTER)
