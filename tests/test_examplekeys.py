"""ExampleKeys: the duplicate and leakage checks a dict gave, in a fraction of its memory."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.kinds.pipeline_datasets import FORMATS
from reconciler.load.datasets import inspect_dataset
from reconciler.load.examplekeys import BUCKETS, ExampleKeys, ExampleOrder
from reconciler.plan.datadiff import diff_examples

# Few distinct values, several per bucket, so repeats and shared buckets are common.
KEYS = st.lists(st.sampled_from([0, 1, BUCKETS, 2 * BUCKETS + 1, -BUCKETS, -1, 2**62, 7]),
                max_size=40)


def keyed(keys: list[int], start: int = 1) -> ExampleKeys:
    found = ExampleKeys()
    for line, key in enumerate(keys, start):
        found.add(key, line)
    return found


@given(KEYS)
def test_duplicates_are_each_repeat_with_its_first_line_in_file_order(keys: list[int]) -> None:
    first: dict[int, int] = {}
    expected = [(line, first.setdefault(key, line)) for line, key in enumerate(keys, 1)]
    assert keyed(keys).duplicates() == [(line, was) for line, was in expected if line != was]
    assert len(keyed(keys)) == len(keys)


@given(KEYS, KEYS)
def test_shared_with_is_the_first_line_of_each_example_the_other_has(
        training: list[int], evaluation: list[int]) -> None:
    first: dict[int, int] = {}
    for line, key in enumerate(evaluation, 10):
        first.setdefault(key, line)
    expected = sorted(line for key, line in first.items() if key in set(training))
    assert keyed(evaluation, 10).shared_with(keyed(training)) == expected


def ordered(keys: list[int], start: int = 1) -> ExampleOrder:
    found = ExampleOrder()
    for line, key in enumerate(keys, start):
        found.append(key, line)
    return found


@given(KEYS, KEYS)
def test_a_dataset_diff_of_compact_orders_is_that_of_lists(before: list[int],
                                                           after: list[int]) -> None:
    old, new = ordered(before), ordered(after, 3)
    pairs = [(key, line) for line, key in enumerate(before, 1)]
    assert list(old) == pairs
    assert list(old[1:-1]) == pairs[1:-1]
    assert [old[-1]] == pairs[-1:] if pairs else len(old) == 0
    assert diff_examples(old, new) == diff_examples(list(old), list(new))


@pytest.mark.parametrize(("keep_order", "per_example"), [(False, 20), (True, 36)])
def test_a_dataset_of_many_examples_keeps_a_few_bytes_for_each(
        tmp_path: Path, keep_order: bool, per_example: int) -> None:
    count = 200_000
    path = tmp_path / "many.jsonl"
    path.write_text("".join(f'{{"input_text":"Write it: {index}","output_text":"x"}}\n'
                            for index in range(count)))
    fmt = FORMATS["code-generation", "training"]
    unlimited = dataclasses.replace(fmt, examples=(10, count))
    tracemalloc.start()
    try:
        report = inspect_dataset(path, "many.jsonl", "many.jsonl", unlimited, "training",
                                 keep_order=keep_order)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.info is not None and report.info.examples == count
    assert (report.order is not None and len(report.order) == count) is keep_order
    # A dict of keys took over 100 bytes an example, a list of (key, line) as much again;
    # the arrays take 12 bytes each (and grow by 1/16).
    assert peak < per_example * count
