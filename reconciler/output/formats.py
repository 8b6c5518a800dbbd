"""The output formats each command offers: named apart from the commands, so that the CLI
can declare its options without importing every command (and the SDKs behind them)."""

from __future__ import annotations

from typing import Literal

PlanOutput = Literal["text", "json", "markdown", "github"]
StatusOutput = Literal["text", "json"]
ValidateOutput = Literal["text", "github"]
