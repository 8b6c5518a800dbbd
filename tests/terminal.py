"""Running the real `reconcile` on a pseudo-terminal: its width, and a prompt to answer."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def on_terminal(command: list[str], *, columns: int = 80, prompt: bytes = b"",
                answer: bytes = b"") -> tuple[int, str]:
    """Runs `command` on a terminal `columns` wide, typing `answer` once `prompt` shows;
    its exit code and the screen, without escape sequences, lines ended by newlines."""
    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    # The terminal's own size, not COLUMNS (pytest-xdist sets it to 80 in its workers).
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen(command, stdin=child_fd, stdout=child_fd, stderr=child_fd,
                               env=env, close_fds=True)
    os.close(child_fd)
    screen, answered = b"", not prompt
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main_fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            if not answered and prompt in screen:
                os.write(main_fd, answer)
                answered = True
        elif process.poll() is not None:
            break
    os.close(main_fd)
    text = ANSI.sub("", screen.decode(errors="replace")).replace("\r\n", "\n")
    return process.wait(timeout=30), text
