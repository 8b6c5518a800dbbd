"""The documented caps on what tuneops reads (README: "Limits").

Each is far above what a real job file or dataset needs and low enough that a hostile or
broken file is refused in well under a second with bounded memory, before it reaches
pydantic, the fingerprint or an API call.
"""

from __future__ import annotations

KIB = 1024
MIB = 1024 * KIB

# A job file holds a few dozen keys; a settings file fewer. Checked before any parsing, so
# a huge comment (which the YAML scanner skips unseen) cannot cost time either.
MAX_YAML_FILE_BYTES = 1 * MIB
# Values, keys and alias expansions in one file: a job has ~20; more is an alias bomb or junk.
MAX_YAML_NODES = 10_000
# Collections inside collections: a job nests three deep (labels); 5,000 would overflow
# Python's stack while composing.
MAX_YAML_DEPTH = 64
# Characters in any one YAML scalar (key or value): no field of a job is near this long.
MAX_YAML_SCALAR_CHARS = 64 * KIB
# Bytes in one dataset line (one example), not counting its newline. Lines are read with
# this bound, so a file without newlines never has to fit in memory.
MAX_DATASET_LINE_BYTES = 1 * MIB
