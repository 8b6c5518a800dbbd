"""yamlsource.load_documents: positions, duplicates, syntax errors, caps and alias bombs.

Every test runs with libyaml's parser and with the pure-Python one: both must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
import yaml

from reconciler.errors import Location
from reconciler.load.limits import MAX_YAML_SCALAR_CHARS
from reconciler.load.yamlsource import (
    DEFAULT_LOADER,
    LOADERS,
    MAX_DEPTH,
    MAX_NODES,
    Document,
    YamlProblem,
    load_documents,
)

PATH = "configs/job.yaml"
NO_LIBYAML = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")


Load = Callable[[str], list[Document]]


@pytest.fixture(params=["python", pytest.param("c", marks=NO_LIBYAML)])
def load(request: pytest.FixtureRequest) -> Load:
    """load_documents with one parser; every test that takes it runs once per parser."""
    return partial(load_documents, path=PATH, loader=LOADERS[request.param])


def problem_of(load: Load, text: str) -> YamlProblem:
    with pytest.raises(YamlProblem) as caught:
        load(text)
    return caught.value


def test_positions_are_one_based_line_and_column(load: Load) -> None:
    text = "name: a\nlabels:\n  team: data\nsteps: [1, 2]\n"
    (document,) = load(text)
    assert document.data == {"name": "a", "labels": {"team": "data"}, "steps": [1, 2]}
    assert document.start == Location(PATH, 1, 1)
    assert document.positions[("name",)] == Location(PATH, 1, 1)
    assert document.positions[("labels",)] == Location(PATH, 2, 1)
    assert document.positions[("labels", "team")] == Location(PATH, 3, 3)
    assert document.positions[("steps", 1)] == Location(PATH, 4, 12)


def test_locate_falls_back_to_longest_known_prefix(load: Load) -> None:
    (document,) = load("a: 1\nlabels:\n  team: data\n")
    assert document.locate(("labels", "team", "deeper")) == Location(PATH, 3, 3)
    assert document.locate(("missing",)) == document.start


def test_duplicate_key_names_line_of_first(load: Load) -> None:
    problem = problem_of(load, "name: a\ntask: x\nname: b\n").problem
    assert problem.location == Location(PATH, 3, 1)
    assert problem.subject == "name"
    assert "first defined at line 1" in problem.message


def test_duplicate_key_in_nested_mapping(load: Load) -> None:
    problem = problem_of(load, "labels:\n  team: a\n  other: b\n  team: c\n").problem
    assert problem.location == Location(PATH, 4, 3)
    assert "first defined at line 2" in problem.message


def test_equal_keys_in_different_mappings_are_not_duplicates(load: Load) -> None:
    (document,) = load("a: {x: 1}\nb: {x: 2}\n")
    assert document.data == {"a": {"x": 1}, "b": {"x": 2}}


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("name: a\ntask: [1,\n", 3, 1),
        ("name: a\n  bad: indent\n", 2, 6),
        ("name: 'unterminated\n", 2, 1),
    ],
)
def test_syntax_error_gives_located_problem(load: Load, text: str, line: int, column: int) -> None:
    problem = problem_of(load, text).problem
    assert problem.location == Location(PATH, line, column)
    assert problem.message.startswith("invalid YAML: ")


def test_multiple_documents_and_empty_ones_skipped(load: Load) -> None:
    text = "---\nname: a\n---\n---\n# only a comment\n---\nname: b\n...\n"
    documents = load(text)
    assert [d.data for d in documents] == [{"name": "a"}, {"name": "b"}]
    assert [d.positions[("name",)].line for d in documents] == [2, 7]


def test_empty_text_has_no_documents(load: Load) -> None:
    assert load("") == []
    assert load("# nothing\n") == []


@pytest.mark.parametrize("merge_first", [True, False])
def test_merge_key_is_not_a_duplicate_and_explicit_key_wins(load: Load, merge_first: bool) -> None:
    own = "  train_steps: 500\n"
    merge = "  <<: *base\n"
    body = merge + own if merge_first else own + merge
    text = "base: &base\n  train_steps: 300\n  task: code-chat\njob:\n" + body
    (document,) = load(text)
    assert document.data["job"] == {"train_steps": 500, "task": "code-chat"}
    # The explicit key is located where it is written, a merged one where the anchor has it.
    explicit_line = 6 if merge_first else 5
    assert document.positions[("job", "train_steps")].line == explicit_line
    assert document.positions[("job", "task")].line == 3


def test_merge_of_a_list_of_mappings(load: Load) -> None:
    text = "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n"
    (document,) = load(text)
    assert document.data["c"] == {"x": 1, "y": 2, "z": 3}


def test_billion_laughs_rejected_quickly(load: Load) -> None:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    problem = problem_of(load, "\n".join(lines) + "\n").problem
    assert f"more than {MAX_NODES} nodes" in problem.message
    assert problem.location.path == PATH
    assert problem.location.line >= 1


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {b: [1, {c: *a}]}\n"])
def test_recursive_alias_rejected_with_problem(load: Load, text: str) -> None:
    problem = problem_of(load, text).problem
    assert problem.location.path == PATH
    assert problem.location.line == 1
    assert "recursive alias" in problem.message


def test_repeated_alias_is_not_recursive(load: Load) -> None:
    (document,) = load("a: &a [1, 2]\nb: *a\nc: {d: *a}\n")
    assert document.data == {"a": [1, 2], "b": [1, 2], "c": {"d": [1, 2]}}


@pytest.mark.parametrize("text", ["? [a, b]\n: 1\n", "? {a: 1}\n: 1\n"])
def test_non_scalar_key_rejected(load: Load, text: str) -> None:
    problem = problem_of(load, text).problem
    assert problem.location == Location(PATH, 1, 3)
    assert "mapping keys must be plain strings" in problem.message


def test_unsafe_tag_is_a_located_problem(load: Load) -> None:
    problem = problem_of(load, "name: !!python/object:os.system ls\n").problem
    assert problem.location.line == 1
    assert problem.message.startswith("invalid YAML: ")


def test_libyaml_is_the_default_when_present() -> None:
    assert DEFAULT_LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize("text", [
    "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "a: " + "{b: " * 5000 + "1" + "}" * 5000 + "\n",
    "".join("  " * level + f"k{level}:\n" for level in range(5000)),
    "".join("  " * level + "-\n" for level in range(5000)),
])
def test_deep_nesting_is_a_located_problem_not_a_recursion_error(load: Load, text: str) -> None:
    problem = problem_of(load, text).problem
    # libyaml stops flow nesting itself ("exceeded maximum nesting depth") a little later.
    assert "nest" in problem.message
    assert problem.location.path == PATH
    assert problem.location.line >= 1


def test_nesting_up_to_the_cap_is_fine(load: Load) -> None:
    text = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    (document,) = load(text)
    assert "a" in document.data


def test_block_nesting_error_names_the_line_past_the_cap(load: Load) -> None:
    text = "".join("  " * level + f"k{level}:\n" for level in range(200))
    problem = problem_of(load, text).problem
    assert problem.location == Location(PATH, MAX_DEPTH + 1, 2 * MAX_DEPTH + 1)
    assert problem.message == f"nested more than {MAX_DEPTH} levels deep"


def test_a_plain_big_document_is_capped_without_aliases(load: Load) -> None:
    items = ", ".join(["1"] * (2 * MAX_NODES))
    problem = problem_of(load, f"name: a\nsteps: [{items}]\n").problem
    assert f"more than {MAX_NODES} nodes" in problem.message
    assert problem.location.line == 2


def test_the_node_cap_counts_the_whole_file_not_each_document(load: Load) -> None:
    problem = problem_of(load, "a: 1\n---\n" * MAX_NODES).problem
    assert f"more than {MAX_NODES} nodes" in problem.message


def test_a_value_longer_than_the_cap_is_refused_at_its_line(load: Load) -> None:
    long = "x" * (MAX_YAML_SCALAR_CHARS + 1)
    problem = problem_of(load, f"name: a\ndescription: {long}\n").problem
    assert problem.location == Location(PATH, 2, 14)
    assert f"limited to {MAX_YAML_SCALAR_CHARS:,}" in problem.message


def test_a_value_at_the_cap_is_kept(load: Load) -> None:
    (document,) = load("description: " + "x" * MAX_YAML_SCALAR_CHARS + "\n")
    assert len(document.data["description"]) == MAX_YAML_SCALAR_CHARS


@pytest.mark.parametrize(("text", "line", "column", "read_as"), [
    ("name: a\n1: x\n", 2, 1, "int"),
    ("name: a\ntrue: x\n", 2, 1, "bool"),
    ("name: a\non: x\n", 2, 1, "bool"),
    ("name: a\nlabels:\n  team: a\n  null: b\n", 4, 3, "null"),
    ("name: a\nlabels: {team: a, 2.5: b}\n", 2, 19, "float"),
])
def test_a_non_string_key_is_located_at_its_line(load: Load, text: str, line: int, column: int,
                                                 read_as: str) -> None:
    problem = problem_of(load, text).problem
    assert problem.location == Location(PATH, line, column)
    assert f"YAML reads it as {read_as}" in problem.message
    assert "quote it" in problem.message


def test_a_quoted_key_that_looks_like_a_number_is_a_string(load: Load) -> None:
    (document,) = load("'1': x\n\"on\": y\n")
    assert document.data == {"1": "x", "on": "y"}


def test_a_quoted_merge_key_is_an_ordinary_key(load: Load) -> None:
    (document,) = load("a: &a {x: 1}\nb:\n  '<<': *a\n")
    assert document.data["b"] == {"<<": {"x": 1}}
    assert document.positions[("b", "<<")] == Location(PATH, 3, 3)


@pytest.mark.parametrize(("text", "message"), [
    ("a: &a 1\nb: &a 2\n", "anchor &a is defined twice"),
    ("a: *nope\n", "found undefined alias 'nope'"),
])
def test_anchor_mistakes_are_located(load: Load, text: str, message: str) -> None:
    problem = problem_of(load, text).problem
    assert problem.location.line == text.count("\n")
    assert problem.message == f"invalid YAML: {message}"


def test_columns_count_characters_with_both_parsers(load: Load) -> None:
    (document,) = load("name: é\nx: [1, 'é', 3]\n")
    assert document.positions[("x", 2)] == Location(PATH, 2, 13)


@pytest.mark.parametrize(("text", "column", "message"), [
    ("name: a\ndate: 2024-13-45\n", 7, "'2024-13-45' is not a valid timestamp (month must be in"),
    ("name: a\nsteps: !!int abc\n", 8, "'abc' is not a valid int (invalid literal"),
    ("name: a\nok: !!bool maybe\n", 5, "'maybe' is not a valid bool"),
    ("name: a\nat: !!timestamp noon\n", 5, "'noon' is not a valid timestamp"),
    ("name: a\nsteps: " + "9" * 5000 + "\n", 8, "'" + "9" * 37 + "...' is not a valid int"),
])
def test_a_scalar_its_tag_cannot_construct_is_located(load: Load, text: str, column: int,
                                                      message: str) -> None:
    problem = problem_of(load, text).problem
    assert problem.location == Location(PATH, 2, column)
    assert problem.message.startswith(f"invalid YAML: {message}")
    assert problem.message.endswith("; quote it if it is text")


@pytest.mark.parametrize(("text", "line", "column", "message"), [
    ("name: a\nlabels: {team: x\ntask: y\n", 2, 9,
     "this '{' is never closed: a ',' or '}' is missing after it"),
    ("name: a\nsteps: [1, 2\ntask: y\n", 2, 8,
     "this '[' is never closed: a ',' or ']' is missing after it"),
    ("name: a\n\ttask: b\n", 2, 1, "tabs are not allowed for indentation; indent with spaces"),
])
def test_syntax_errors_say_what_to_fix_where_it_is(load: Load, text: str, line: int,
                                                   column: int, message: str) -> None:
    """Both parsers: an unclosed bracket at itself (the parser notices it lines later), a
    tab in words rather than the scanner's."""
    problem = problem_of(load, text).problem
    assert problem.location == Location(PATH, line, column)
    assert problem.message == f"invalid YAML: {message}"
