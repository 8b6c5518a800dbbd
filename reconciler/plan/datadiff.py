"""PURE: what changed between two versions of a dataset, example by example.

Each version is its examples in file order, as (key, line) pairs where the key stands for
the example's canonical JSON. Aligned like `git diff` aligns lines, an example in both is
unchanged, a replaced run counts as changed (as many as both sides have) and the rest as
added or removed.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# How many line numbers of each sort a plan names.
LINES_SHOWN = 5
# Past this many examples between the common head and tail, alignment (quadratic at worst)
# gives way to counting: what was added and removed is still exact, "changed" is not said.
MAX_ALIGNED = 20_000

Example = tuple[int, int]


@dataclass(frozen=True)
class ExampleDiff:
    added: int = 0
    removed: int = 0
    changed: int = 0
    # The first few line numbers: added and changed in the new file, removed in the old.
    added_lines: tuple[int, ...] = ()
    removed_lines: tuple[int, ...] = ()
    changed_lines: tuple[int, ...] = ()
    # False when the versions were too far apart to align (changed examples then count as
    # one removed and one added).
    aligned: bool = True


def _common_ends(before: Sequence[Example], after: Sequence[Example]) -> tuple[int, int]:
    head = 0
    while head < min(len(before), len(after)) and before[head][0] == after[head][0]:
        head += 1
    tail = 0
    while (tail < min(len(before), len(after)) - head
           and before[-1 - tail][0] == after[-1 - tail][0]):
        tail += 1
    return head, tail


def _surplus(examples: Sequence[Example], surplus: Counter[int]) -> list[int]:
    """Lines of the examples that `surplus` counts (the first occurrences of each key)."""
    lines = []
    for key, line in examples:
        if surplus[key] > 0:
            surplus[key] -= 1
            lines.append(line)
    return lines


def _counted(before: Sequence[Example], after: Sequence[Example]) -> ExampleDiff:
    old, new = Counter(key for key, _ in before), Counter(key for key, _ in after)
    added, removed = _surplus(after, new - old), _surplus(before, old - new)
    return ExampleDiff(added=len(added), removed=len(removed),
                       added_lines=tuple(added[:LINES_SHOWN]),
                       removed_lines=tuple(removed[:LINES_SHOWN]), aligned=False)


def diff_examples(before: Sequence[Example], after: Sequence[Example]) -> ExampleDiff:
    head, tail = _common_ends(before, after)
    old, new = before[head:len(before) - tail], after[head:len(after) - tail]
    if len(old) > MAX_ALIGNED or len(new) > MAX_ALIGNED:
        return _counted(old, new)
    added: list[int] = []
    removed: list[int] = []
    changed: list[int] = []
    matcher = difflib.SequenceMatcher(None, [key for key, _ in old], [key for key, _ in new],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        both = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        changed += [line for _, line in new[j1:j1 + both]]
        added += [line for _, line in new[j1 + both:j2]]
        removed += [line for _, line in old[i1 + both:i2]]
    return ExampleDiff(added=len(added), removed=len(removed), changed=len(changed),
                       added_lines=tuple(added[:LINES_SHOWN]),
                       removed_lines=tuple(removed[:LINES_SHOWN]),
                       changed_lines=tuple(changed[:LINES_SHOWN]))
