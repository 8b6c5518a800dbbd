"""Ctrl-C and SIGTERM during apply: start nothing new, finish what is in flight, then report.

Launch ids are deterministic, so abandoning nothing half-way is the safe choice: a call in
flight completes (or a rerun adopts it), and the report says what was launched and what was
not. A second signal exits at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Interrupt:
    stop: threading.Event = field(default_factory=threading.Event)
    signal: int = 0

    @property
    def exit_code(self) -> int:
        """The shell's convention: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signal


@contextmanager
def interruptible() -> Iterator[Interrupt]:
    interrupt = Interrupt()

    def handle(signum: int, _: FrameType | None) -> None:
        if interrupt.stop.is_set():
            print("reconcile: interrupted again; exiting now", file=sys.stderr, flush=True)
            os._exit(128 + signum)  # threads in flight do not hold the process up
        interrupt.signal = signum
        interrupt.stop.set()
        print(f"reconcile: {signal.Signals(signum).name}: starting nothing new, waiting for "
              "the calls in flight (again to exit now)", file=sys.stderr, flush=True)

    previous = {number: signal.signal(number, handle) for number in SIGNALS}
    try:
        yield interrupt
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
