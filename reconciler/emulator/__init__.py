"""Local Vertex AI emulator: the real GAPIC clients talk gRPC to it; state lives in SQLite.

`start_emulator(state_dir)` serves every service of all_services.py (one sub-package each)
plus a GCS emulator; `EmulatorStore(state_dir)` lets tests and the CLI steer the same state
(clock, faults, quota, quirks, call counts) from any process, and each service's store reads
its resources (`Models(EmulatorStore(state_dir)).all()`).
"""

from reconciler.emulator.quirks import Quirks
from reconciler.emulator.server import Emulator, serve, start_emulator
from reconciler.emulator.store import EmulatorStore

__all__ = ["Emulator", "EmulatorStore", "Quirks", "serve", "start_emulator"]
