"""Problems -> GitHub workflow commands, shown inline on the pull request's diff."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Literal

from reconciler.errors import ConfigError, Problem
from reconciler.output import escape


def annotation(level: Literal["error", "warning"], problem: Problem) -> str:
    location = problem.location
    properties = [f"file={escape.workflow_property(location.path)}"]
    if location.line:
        properties.append(f"line={location.line}")
    if location.column:
        properties.append(f"col={location.column}")
    properties.append(f"title={escape.workflow_property('tuneops ' + level)}")
    message = f"{problem.subject}: {problem.message}" if problem.subject else problem.message
    return f"::{level} {','.join(properties)}::{escape.workflow_data(message)}"


@contextmanager
def errors_as_annotations(enabled: bool) -> Iterator[None]:
    """With --output github, validation errors also become ::error commands on stdout."""
    try:
        yield
    except ConfigError as error:
        if enabled:
            for problem in error.problems:
                print(annotation("error", problem))
        raise


def print_warnings(warnings: Iterable[Problem]) -> None:
    for warning in warnings:
        print(annotation("warning", warning))
