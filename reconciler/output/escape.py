"""Every value that comes from a repository or from the service, escaped for where it goes.

A pull request's author controls file names, keys and values, and the service echoes some
of them back (display names, descriptions, error messages): none of it may become a
heading, a link, HTML, a code fence's end, a workflow command or terminal markup. Each
medium has one function here, and every renderer uses them (tests/test_escape.py forges
each medium).
"""

from __future__ import annotations

import html
import re

from rich.markup import escape as _rich_escape

# Making a value one line is errors.one_line, written once for Problems and renderers alike.
from reconciler.errors import one_line

# The runner reads `##[command]` anywhere in a line (actions/runner, ActionCommand.TryParse)
# and `::command::` where a line starts, after leading white space (TryParseV2).
_LEGACY_COMMAND = "##["
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# GitHub turns @name into a mention in any text outside code: a word joiner stops it.
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_BACKTICKS = re.compile(r"`+")


def text(value: object) -> str:
    """For a terminal or a CI log: one line, and no workflow command hidden in it."""
    return one_line(value).replace(_LEGACY_COMMAND, "##\\[")


def log_line(line: str) -> str:
    """A whole line that starts with a value (a problem's file name): as `text`, and never
    starting with `::`, where the runner would read a workflow command."""
    escaped = text(line)
    stripped = escaped.lstrip()
    if stripped.startswith("::"):
        return escaped[: len(escaped) - len(stripped)] + "\\" + stripped
    return escaped


def markup(value: object) -> str:
    """For rich's console markup: `[bold]` or `[/]` in a value is shown, never applied."""
    return _rich_escape(text(value))


def markdown(value: object) -> str:
    """Markdown prose: every ASCII punctuation character backslash-escaped (CommonMark makes
    each literal), so no heading, list, link, emphasis, HTML or table cell can start."""
    escaped = _ASCII_PUNCTUATION.sub(r"\\\1", one_line(value))
    return _MENTION.sub("@\u2060", escaped)


def code(value: object, *, in_table: bool = False) -> str:
    """A Markdown code span holding `value` verbatim, whatever backticks it contains.

    Inside a table GitHub splits cells at `|` even within code, so there it is escaped.
    """
    content = one_line(value)
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    ticks = "`" * (longest + 1)
    # A space on each side keeps a leading or trailing backtick off the delimiters.
    padded = f" {content} " if content[:1] in "` " or content[-1:] in "` " else content
    if in_table:
        padded = padded.replace("|", "\\|")
    return f"{ticks}{padded or ' '}{ticks}"


def html_text(value: object) -> str:
    """Text inside an HTML block (a `<details>` summary): tags and entities shown as typed."""
    return _MENTION.sub("@\u2060", html.escape(one_line(value), quote=True))


def html_code(value: object) -> str:
    return f"<code>{html_text(value)}</code>"


def fence(content: str, info: str = "") -> str:
    """`content` as a fenced code block whose fence is longer than any run of backticks in
    it, so that no line of the content can close the block."""
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = content if content.endswith("\n") or not content else content + "\n"
    return f"{ticks}{info}\n{body}{ticks}"


def workflow_data(value: object) -> str:
    """A workflow command's message (actions/toolkit, command.ts: escapeData)."""
    text_ = value if isinstance(value, str) else str(value)
    return text_.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(value: object) -> str:
    """A workflow command's property value (command.ts: escapeProperty)."""
    return workflow_data(value).replace(":", "%3A").replace(",", "%2C")
