"""The hostile-input corpus: one file per case under tests/hostile/, run through validate,
plan and apply. Each must end with its exit code and its one-line message, never a
traceback, and launch nothing.

A case file holds `about`, the change it makes to a copy of the example repository
(`edit`, `append`, `write`, `symlink`, `fifo`, `latin1`, `utf16`, `deep`, `env`), and the
`exit` code and `message` that every command must give (a part of the first line on stderr
for an error, of the output for a warning); `commands` names others than validate, plan and
apply (`apply-plan` applies the file `plan.json` of the repository), and `unreadable_state`
says why the emulator cannot be asked what was launched. An error is one line per problem,
then the count: never a line a problem's value split off.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Repo

CORPUS = Path(__file__).resolve().parent / "hostile"
CASES = sorted(CORPUS.glob("*.yaml"))
COMMANDS = (("validate",), ("plan",), ("apply", "--auto-approve"))
COMMANDS_BY_NAME = {command[0]: command for command in (*COMMANDS, ("status",))}
COMMANDS_BY_NAME["apply-plan"] = ("apply", "{root}/plan.json")


def _content(spec: dict[str, Any]) -> bytes:
    """`text`, or `text` then `repeat` x `times` (large inputs stay out of the repository)."""
    text = spec.get("text", "").encode() + spec.get("repeat", "").encode() * spec.get(
        "times", 0)
    return text + spec.get("tail", "").encode()


def prepare(repo: Repo, case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    root = repo.root
    for name, value in case.get("env", {}).items():
        monkeypatch.setenv(name, value)
    if "fifo" in case:
        os.mkfifo(root / case["fifo"])
    if "symlink" in case:
        link = root / case["symlink"]["path"]
        link.unlink(missing_ok=True)
        link.symlink_to(case["symlink"]["target"])
    if "edit" in case:
        repo.edit(case["edit"]["file"], case["edit"]["old"], case["edit"]["new"])
    if "append" in case:
        with (root / case["append"]["file"]).open("ab") as stream:
            stream.write(b"\n" + _content(case["append"]) + b"\n")
    if "write" in case:
        path = root / case["write"]["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_content(case["write"]))
    if "latin1" in case:
        path = root / case["latin1"]
        path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    if "utf16" in case:
        path = root / case["utf16"]
        path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    if "deep" in case:
        depth = case["deep"]["depth"]
        (root / case["deep"]["file"]).write_text("x: " + "[" * depth + "]" * depth + "\n")


@pytest.mark.parametrize("path", CASES, ids=[case.stem for case in CASES])
def test_hostile_input(repo: Repo, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    prepare(repo, case, monkeypatch)
    commands = [COMMANDS_BY_NAME[name] for name in case["commands"]] if "commands" in case \
        else COMMANDS
    for command in commands:
        result = repo.run(*(arg.format(root=repo.root) for arg in command))
        assert result.code == case["exit"], (command, result.err)
        assert "Traceback" not in result.err + result.out
        if case["exit"]:
            lines = result.err.splitlines()
            assert case["message"] in lines[0], (command, lines[0])
            counted = re.fullmatch(r"(\d+) errors?; .*\.", lines[-1])
            if counted:  # "N errors; nothing was launched.": one line per problem above it
                assert len(lines) == int(counted.group(1)) + 1, (command, lines)
        else:  # a warning: shown, and the rest still works
            assert case["message"] in result.out, (command, result.out)
    if case["exit"] and "unreadable_state" not in case:
        assert repo.job_ids() == []


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 10
