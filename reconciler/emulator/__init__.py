"""Local Vertex AI emulator: the real GAPIC clients talk gRPC to it; state lives in SQLite.

`start_emulator(state_dir)` serves PipelineService, GenAiTuningService, ModelService,
EndpointService and long-running Operations plus a GCS emulator; `EmulatorStore(state_dir)`
lets tests and the CLI inspect and steer the same state (clock, faults, quirks, call counts)
from any process.
"""

from reconciler.emulator.quirks import Quirks
from reconciler.emulator.server import Emulator, serve, start_emulator
from reconciler.emulator.store import EmulatorStore

__all__ = ["Emulator", "EmulatorStore", "Quirks", "serve", "start_emulator"]
