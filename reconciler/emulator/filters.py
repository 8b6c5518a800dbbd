"""A small AIP-160 subset for List filters, parsed once into a predicate.

Supported: terms joined by `AND`, each one of
`labels.KEY="V"`, `labels."KEY"="V"`, `labels.KEY:*` (has key), `display_name="V"`,
`state="STATE"` (a member of the resource's state enum; quotes optional), with `!=` wherever
`=` is allowed. Each service says which fields its resources can be filtered on.
Anything else is rejected rather than silently matching everything, so a client bug shows up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler.emulator.errors import invalid


@dataclass(frozen=True)
class Subject:
    """The fields a filter can look at, for a job or a model."""

    labels: Mapping[str, str]
    display_name: str
    state: str | None = None  # None for resources without a state (models)
    # When it was created (a Model: registered), on the emulator clock: lists may lag.
    create_time: float = 0.0


Predicate = Callable[[Subject], bool]

_TERM = re.compile(
    r"""\s*
    (?P<field>labels\.(?:"(?P<qkey>[^"]+)"|(?P<key>[A-Za-z0-9_-]+))|state|display_name)
    \s*(?P<op>!=|=|:)\s*
    (?:"(?P<qvalue>(?:[^"\\]|\\.)*)"|(?P<value>[^\s"()]+))
    \s*""",
    re.VERBOSE,
)
_AND = re.compile(r"AND(?:\s+|$)")
_ESCAPE = re.compile(r"\\(.)")


def parse_filter(text: str, fields: frozenset[str], states: frozenset[str] = frozenset()
                 ) -> Predicate:
    """Parses `text` into a predicate; raises INVALID_ARGUMENT naming the offending part."""
    terms: list[Predicate] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        if terms:
            joiner = _AND.match(text, pos)
            if joiner is None:
                raise invalid(f"invalid filter {text!r}: expected AND at position {pos}")
            pos = joiner.end()
        match = _TERM.match(text, pos)
        if match is None:
            raise invalid(
                f"invalid filter {text!r} at position {pos}: supported terms are "
                'labels.KEY="VALUE", labels.KEY:*, display_name="VALUE" and state=STATE'
            )
        terms.append(_term(text, match, fields, states))
        pos = match.end()
    return lambda subject: all(term(subject) for term in terms)


def _term(
    text: str, match: re.Match[str], fields: frozenset[str], states: frozenset[str]
) -> Predicate:
    field, op = match["field"], match["op"]
    quoted = match["qvalue"]
    value = _ESCAPE.sub(r"\1", quoted) if quoted is not None else match["value"]
    name = "labels" if field.startswith("labels.") else field
    if name not in fields:
        raise invalid(f"invalid filter {text!r}: field {name!r} is not filterable here")
    if op == ":":
        if name != "labels" or quoted is not None or value != "*":
            raise invalid(f'invalid filter {text!r}: ":" is only supported as labels.KEY:*')
        key = match["qkey"] or match["key"]
        return lambda s: key in s.labels
    if quoted is None and value == "*":
        raise invalid(f'invalid filter {text!r}: "*" is only supported with ":"')
    want = op == "="
    if name == "labels":
        key = match["qkey"] or match["key"]
        return lambda s: (s.labels.get(key) == value) == want
    if name == "display_name":
        return lambda s: (s.display_name == value) == want
    if value not in states:
        raise invalid(f"invalid filter {text!r}: unknown state {value!r}")
    return lambda s: (s.state == value) == want
