"""yamlsource.load_documents: positions, duplicates, syntax errors and alias bombs."""

from __future__ import annotations

import pytest

from reconciler.errors import Location
from reconciler.load.yamlsource import MAX_NODES, YamlProblem, load_documents

PATH = "configs/job.yaml"


def problem_of(text: str) -> YamlProblem:
    with pytest.raises(YamlProblem) as caught:
        load_documents(text, PATH)
    return caught.value


def test_positions_are_one_based_line_and_column() -> None:
    text = "name: a\nlabels:\n  team: data\nsteps: [1, 2]\n"
    (document,) = load_documents(text, PATH)
    assert document.data == {"name": "a", "labels": {"team": "data"}, "steps": [1, 2]}
    assert document.start == Location(PATH, 1, 1)
    assert document.positions[("name",)] == Location(PATH, 1, 1)
    assert document.positions[("labels",)] == Location(PATH, 2, 1)
    assert document.positions[("labels", "team")] == Location(PATH, 3, 3)
    assert document.positions[("steps", 1)] == Location(PATH, 4, 12)


def test_locate_falls_back_to_longest_known_prefix() -> None:
    (document,) = load_documents("a: 1\nlabels:\n  team: data\n", PATH)
    assert document.locate(("labels", "team", "deeper")) == Location(PATH, 3, 3)
    assert document.locate(("missing",)) == document.start


def test_duplicate_key_names_line_of_first() -> None:
    problem = problem_of("name: a\ntask: x\nname: b\n").problem
    assert problem.location == Location(PATH, 3, 1)
    assert problem.subject == "name"
    assert "first defined at line 1" in problem.message


def test_duplicate_key_in_nested_mapping() -> None:
    problem = problem_of("labels:\n  team: a\n  other: b\n  team: c\n").problem
    assert problem.location == Location(PATH, 4, 3)
    assert "first defined at line 2" in problem.message


def test_equal_keys_in_different_mappings_are_not_duplicates() -> None:
    (document,) = load_documents("a: {x: 1}\nb: {x: 2}\n", PATH)
    assert document.data == {"a": {"x": 1}, "b": {"x": 2}}


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("name: a\ntask: [1,\n", 3, 1),
        ("name: a\n  bad: indent\n", 2, 6),
        ("name: 'unterminated\n", 2, 1),
    ],
)
def test_syntax_error_gives_located_problem(text: str, line: int, column: int) -> None:
    problem = problem_of(text).problem
    assert problem.location == Location(PATH, line, column)
    assert problem.message.startswith("invalid YAML: ")


def test_multiple_documents_and_empty_ones_skipped() -> None:
    text = "---\nname: a\n---\n---\n# only a comment\n---\nname: b\n...\n"
    documents = load_documents(text, PATH)
    assert [d.data for d in documents] == [{"name": "a"}, {"name": "b"}]
    assert [d.positions[("name",)].line for d in documents] == [2, 7]


def test_empty_text_has_no_documents() -> None:
    assert load_documents("", PATH) == []
    assert load_documents("# nothing\n", PATH) == []


@pytest.mark.parametrize("merge_first", [True, False])
def test_merge_key_is_not_a_duplicate_and_explicit_key_wins(merge_first: bool) -> None:
    own = "  train_steps: 500\n"
    merge = "  <<: *base\n"
    body = merge + own if merge_first else own + merge
    text = "base: &base\n  train_steps: 300\n  task: code-chat\njob:\n" + body
    (document,) = load_documents(text, PATH)
    assert document.data["job"] == {"train_steps": 500, "task": "code-chat"}
    # The explicit key is located where it is written, a merged one where the anchor has it.
    explicit_line = 6 if merge_first else 5
    assert document.positions[("job", "train_steps")].line == explicit_line
    assert document.positions[("job", "task")].line == 3


def test_merge_of_a_list_of_mappings() -> None:
    text = "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n"
    (document,) = load_documents(text, PATH)
    assert document.data["c"] == {"x": 1, "y": 2, "z": 3}


def test_billion_laughs_rejected_quickly() -> None:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    problem = problem_of("\n".join(lines) + "\n").problem
    assert f"more than {MAX_NODES} nodes" in problem.message
    assert problem.location.path == PATH
    assert problem.location.line >= 1


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {b: [1, {c: *a}]}\n"])
def test_recursive_alias_rejected_with_problem(text: str) -> None:
    problem = problem_of(text).problem
    assert problem.location.path == PATH
    assert problem.location.line == 1
    assert "recursive alias" in problem.message


def test_repeated_alias_is_not_recursive() -> None:
    (document,) = load_documents("a: &a [1, 2]\nb: *a\nc: {d: *a}\n", PATH)
    assert document.data == {"a": [1, 2], "b": [1, 2], "c": {"d": [1, 2]}}


@pytest.mark.parametrize("text", ["? [a, b]\n: 1\n", "? {a: 1}\n: 1\n"])
def test_non_scalar_key_rejected(text: str) -> None:
    problem = problem_of(text).problem
    assert problem.location == Location(PATH, 1, 3)
    assert "mapping keys must be plain strings" in problem.message


def test_unsafe_tag_is_a_located_problem() -> None:
    problem = problem_of("name: !!python/object:os.system ls\n").problem
    assert problem.location.line == 1
    assert problem.message.startswith("invalid YAML: ")
