"""ModelService and EndpointService: the Model Registry every tuning run registers into."""

from reconciler.emulator.models.service import SERVICE
from reconciler.emulator.models.store import Endpoints, Models

__all__ = ["SERVICE", "Endpoints", "Models"]
