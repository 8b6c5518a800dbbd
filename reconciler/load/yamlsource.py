"""Safe YAML reading that remembers where every key came from.

PyYAML's SafeLoader silently keeps the last of two equal keys and expands aliases without
bound; both are errors here, and every value keeps its `line:column` so that validation
messages can point at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Location, Problem

KeyPath = tuple[str | int, ...]

# A job document has ~20 keys; anything near this many nodes is an alias bomb.
MAX_NODES = 10_000
MERGE_KEY = "<<"


@dataclass(frozen=True)
class Document:
    """One YAML document with the position of each key path inside it."""

    path: str
    data: Any
    start: Location
    positions: dict[KeyPath, Location] = field(default_factory=dict)

    def locate(self, keys: KeyPath) -> Location:
        """The position of the longest known prefix of `keys` (the document start at worst)."""
        for end in range(len(keys), 0, -1):
            found = self.positions.get(keys[:end])
            if found is not None:
                return found
        return self.start


class YamlProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


class _Walker:
    """Checks a composed node tree for duplicate keys and records key positions."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.visited = 0
        self.positions: dict[KeyPath, Location] = {}
        # Nodes being walked: an alias back to one of them is a cycle, not just a repeat.
        self.open: set[int] = set()

    def at(self, node: Node) -> Location:
        mark = node.start_mark
        return Location(self.path, mark.line + 1, mark.column + 1)

    def walk(self, node: Node, keys: KeyPath, *, merged: bool = False) -> None:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise YamlProblem(
                Problem(self.at(node), f"document expands to more than {MAX_NODES} nodes "
                        "(aliases nested too deep?)")
            )
        if id(node) in self.open:
            raise YamlProblem(Problem(self.at(node), "recursive alias: a value contains itself"))
        self.open.add(id(node))
        if isinstance(node, MappingNode):
            self._mapping(node, keys, merged=merged)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.positions.setdefault((*keys, index), self.at(item))
                self.walk(item, (*keys, index), merged=merged)
        self.open.discard(id(node))

    def _mapping(self, node: MappingNode, keys: KeyPath, *, merged: bool) -> None:
        seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise YamlProblem(Problem(self.at(key_node), "mapping keys must be plain strings"))
            key = str(key_node.value)
            if key == MERGE_KEY:
                # Merged keys are defaults: the mapping's own keys win, so they are not duplicates.
                for source in _merge_sources(value_node):
                    self.walk(source, keys, merged=True)
                continue
            if key in seen:
                raise YamlProblem(
                    Problem(self.at(key_node), f"duplicate key (first defined at line "
                            f"{seen[key].line})", subject=key)
                )
            seen[key] = self.at(key_node)
            if merged:
                self.positions.setdefault((*keys, key), seen[key])
            else:
                self.positions[(*keys, key)] = seen[key]
            self.walk(value_node, (*keys, key), merged=merged)


def _merge_sources(node: Node) -> Iterator[Node]:
    if isinstance(node, SequenceNode):
        yield from node.value
    else:
        yield node


def load_documents(text: str, path: str) -> list[Document]:
    """Every non-empty document in `text`; raises YamlProblem at the first syntax error."""
    loader = yaml.SafeLoader(text)
    documents: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            walker = _Walker(path)
            walker.walk(node, ())
            data = loader.construct_document(node)
            if data is not None:
                documents.append(Document(path, data, walker.at(node), walker.positions))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = f"invalid YAML: {error.problem or error.context}"
        raise YamlProblem(Problem(Location(path, line, column), message)) from None
    except yaml.YAMLError as error:
        raise YamlProblem(Problem(Location(path), f"invalid YAML: {error}")) from None
    finally:
        loader.dispose()
    return documents
