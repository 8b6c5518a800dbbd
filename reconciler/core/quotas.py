"""PURE: Vertex AI's documented request quotas, per minute, per region, per project
(https://cloud.google.com/vertex-ai/docs/quotas, "Request quotas")."""

from __future__ import annotations

# "Job or long-running operation (LRO) submission requests".
SUBMISSIONS_PER_MINUTE = 60
# "Resource management (CRUD) requests": apply stays under it by pacing submissions (a
# create makes a few reads and writes beside its one submission).
RESOURCE_REQUESTS_PER_MINUTE = 600
