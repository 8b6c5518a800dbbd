"""Safe YAML reading that remembers where every key came from.

PyYAML's SafeLoader silently keeps the last of two equal keys, expands aliases without bound
and composes nesting recursively (5,000 levels overflow the stack); all of these are located
errors here, and every value keeps its `line:column` so that validation messages can point
at it. Parsing uses libyaml when it is installed, the pure-Python parser otherwise; both give
the same events, which are composed here so that the caps hold while composing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Location, Problem
from reconciler.load.limits import MAX_YAML_DEPTH, MAX_YAML_NODES, MAX_YAML_SCALAR_CHARS

KeyPath = tuple[str | int, ...]
Loader = type[yaml.SafeLoader] | type[yaml.CSafeLoader]

MAX_NODES = MAX_YAML_NODES
MAX_DEPTH = MAX_YAML_DEPTH
STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
# libyaml is some twenty times faster; the pure-Python parser gives the same events and marks.
LOADERS: dict[str, Loader] = {"python": yaml.SafeLoader}
if yaml.__with_libyaml__:
    LOADERS["c"] = yaml.CSafeLoader
DEFAULT_LOADER: Loader = LOADERS.get("c", yaml.SafeLoader)


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


# libyaml's events carry marks of its own type, with the same line and column.
Mark = Any


def _at(path: str, mark: Mark) -> Location:
    return Location(path, mark.line + 1, mark.column + 1)


class _Composer:
    """Builds nodes from parser events without recursion, enforcing the caps as it goes."""

    def __init__(self, loader: Any, path: str) -> None:
        self.loader = loader
        self.path = path
        # Per file, not per document: a file of many small documents is as costly as one big.
        self.nodes = 0

    def fail(self, mark: Mark, message: str) -> YamlProblem:
        return YamlProblem(Problem(_at(self.path, mark), message))

    def documents(self) -> Iterator[Node]:
        loader = self.loader
        loader.get_event()  # stream start
        while not loader.check_event(StreamEndEvent):
            start = loader.get_event()
            assert isinstance(start, DocumentStartEvent)
            yield self._document()
            loader.get_event()  # document end

    def _count(self, event: Event) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(event.start_mark, f"more than {MAX_NODES} nodes (keys and values) "
                            "in one file; a job needs a few dozen")

    def _document(self) -> Node:
        anchors: dict[str, Node] = {}
        # Open collections with their children so far (mappings: key, value, key, ...).
        stack: list[tuple[CollectionNode, list[Node]]] = []
        while True:
            event = self.loader.get_event()
            node: Node | None = None
            if isinstance(event, AliasEvent):
                self._count(event)
                if event.anchor not in anchors:
                    raise self.fail(event.start_mark, f"invalid YAML: found undefined alias "
                                    f"{event.anchor!r}")
                node = anchors[event.anchor]
            elif isinstance(event, ScalarEvent):
                self._count(event)
                node = self._scalar(event)
            elif isinstance(event, CollectionStartEvent):
                self._count(event)
                if len(stack) >= MAX_DEPTH:
                    raise self.fail(event.start_mark, f"nested more than {MAX_DEPTH} levels "
                                    "deep")
                stack.append((self._collection(event), []))
            else:
                assert isinstance(event, MappingEndEvent | SequenceEndEvent)
                node, children = stack.pop()
                node.end_mark = event.end_mark
                node.value = (list(zip(children[::2], children[1::2], strict=True))
                              if isinstance(node, MappingNode) else children)
            if isinstance(event, ScalarEvent | CollectionStartEvent) and event.anchor:
                if event.anchor in anchors:
                    raise self.fail(event.start_mark, f"invalid YAML: anchor &{event.anchor} "
                                    "is defined twice")
                anchors[event.anchor] = node if node is not None else stack[-1][0]
            if node is None:
                continue
            if not stack:
                return node
            stack[-1][1].append(node)

    def _scalar(self, event: Any) -> ScalarNode:
        if len(event.value) > MAX_YAML_SCALAR_CHARS:
            raise self.fail(event.start_mark, f"a value of {len(event.value):,} characters; "
                            f"values are limited to {MAX_YAML_SCALAR_CHARS:,}")
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(ScalarNode, event.value, event.implicit)
        return ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)

    def _collection(self, event: Any) -> CollectionNode:
        kind = MappingNode if isinstance(event, MappingStartEvent) else SequenceNode
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(kind, None, event.implicit)
        return kind(tag, [], event.start_mark, None, flow_style=event.flow_style)


class _Walker:
    """Checks a composed node tree for duplicate keys and records key positions.

    Counts every node as aliases expand it, so a billion laughs stops at MAX_NODES.
    """

    def __init__(self, path: str, construct: Callable[[Node], object]) -> None:
        self.path = path
        self.construct = construct
        self.visited = 0
        self.positions: dict[KeyPath, Location] = {}
        # Nodes being walked: an alias back to one of them is a cycle, not just a repeat.
        self.open: set[int] = set()

    def at(self, node: Node) -> Location:
        return _at(self.path, node.start_mark)

    def walk(self, node: Node, keys: KeyPath, *, merged: bool = False, depth: int = 0) -> None:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise YamlProblem(Problem(self.at(node), f"document expands to more than "
                                      f"{MAX_NODES} nodes (aliases nested too deep?)"))
        if depth > MAX_DEPTH:
            # Aliases can nest deeper than the text does.
            raise YamlProblem(Problem(self.at(node), f"aliases expand to more than {MAX_DEPTH}"
                                      " levels of nesting"))
        if id(node) in self.open:
            raise YamlProblem(Problem(self.at(node), "recursive alias: a value contains itself"))
        self.open.add(id(node))
        if isinstance(node, ScalarNode):
            self._scalar(node)
        elif isinstance(node, MappingNode):
            self._mapping(node, keys, merged=merged, depth=depth)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.positions.setdefault((*keys, index), self.at(item))
                self.walk(item, (*keys, index), merged=merged, depth=depth + 1)
        self.open.discard(id(node))

    def _scalar(self, node: ScalarNode) -> None:
        # PyYAML's constructors raise whatever their parsing raises for `2024-13-45`,
        # `!!int abc` or `!!timestamp text`; constructing each scalar here (the constructor
        # keeps the result for the document) locates them. Its own errors pass through.
        try:
            self.construct(node)
        except yaml.YAMLError:
            raise
        except Exception as error:
            kind = node.tag.rsplit(":", 1)[-1]
            value = node.value if len(node.value) <= 40 else f"{node.value[:37]}..."
            raise YamlProblem(Problem(self.at(node), f"invalid YAML: {value!r} is not a "
                                      f"valid {kind} ({error}); quote it if it is text")
                              ) from None

    def _key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise YamlProblem(Problem(self.at(node), "mapping keys must be plain strings"))
        if node.tag not in (STR_TAG, MERGE_TAG):
            # `1:`, `true:`, `on:`, `null:` are numbers, booleans or null in YAML, not names.
            raise YamlProblem(Problem(self.at(node), f"key {node.value!r} is not a string "
                                      f"(YAML reads it as {node.tag.rsplit(':', 1)[-1]}); "
                                      "quote it"))
        return str(node.value)

    def _mapping(self, node: MappingNode, keys: KeyPath, *, merged: bool, depth: int) -> None:
        seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if key_node.tag == MERGE_TAG:
                # Merged keys are defaults: the mapping's own keys win, so they are not duplicates.
                for source in _merge_sources(value_node):
                    self.walk(source, keys, merged=True, depth=depth + 1)
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
            self.walk(value_node, (*keys, key), merged=merged, depth=depth + 1)


def _merge_sources(node: Node) -> Iterator[Node]:
    if isinstance(node, SequenceNode):
        yield from node.value
    else:
        yield node


_FLOW_OPENERS = {"while parsing a flow mapping": "{", "while parsing a flow sequence": "["}


def _syntax_problem(error: yaml.YAMLError, path: str) -> Problem:
    """The parser's complaint in words, at the place to fix: a `{` or `[` left open at
    itself (the parser only notices lines later), a tab where it is."""
    if not isinstance(error, yaml.MarkedYAMLError):
        return Problem(Location(path), f"invalid YAML: {error}")
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "invalid"
    opener = _FLOW_OPENERS.get(error.context or "")
    if opener and error.context_mark is not None:
        mark = error.context_mark
        closer = "}" if opener == "{" else "]"
        message = f"this '{opener}' is never closed: a ',' or '{closer}' is missing after it"
    elif "tab" in message or "'\\t'" in message:
        message = "tabs are not allowed for indentation; indent with spaces"
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return Problem(Location(path, line, column), f"invalid YAML: {message}")


def load_documents(text: str, path: str, *, loader: Loader = DEFAULT_LOADER) -> list[Document]:
    """Every non-empty document in `text`; raises YamlProblem at the first problem.

    `text` should have passed yamlfile's checks (size, encoding, characters); the caps on
    nodes, depth and value length hold here whatever it is.
    """
    documents: list[Document] = []
    parser = None
    try:
        parser = loader(text)
        composer = _Composer(parser, path)
        walker = _Walker(path, parser.construct_object)
        for node in composer.documents():
            walker.positions = {}
            walker.walk(node, ())
            data = parser.construct_document(node)
            if data is not None:
                documents.append(Document(path, data, walker.at(node), walker.positions))
    except yaml.YAMLError as error:
        raise YamlProblem(_syntax_problem(error, path)) from None
    finally:
        if parser is not None:
            parser.dispose()
    return documents
