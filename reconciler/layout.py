"""Where things live in a tuneops repository; shared by the loaders and the edges."""

from __future__ import annotations

CONFIG_DIR = "configs"
SETTINGS_FILE = "reconciler.yaml"
# Caches and the embedded emulator's state; never committed.
STATE_DIR = ".reconciler"
