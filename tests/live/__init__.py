"""The live acceptance suite: the smallest real scenario, against a project or the emulator."""
