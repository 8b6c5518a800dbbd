"""Each example's 64-bit key and line, kept compactly, for the duplicate and leakage checks
and a branch's dataset diff.

A dict of a million keys takes over 100 MB; here an example takes 12 bytes, its key and its
line in two arrays. The keys are spread over buckets by their low bits, so a check builds a
set of one bucket at a time, never of the whole file, and a bucket without duplicates (the
common case) is passed at C speed. ExampleOrder keeps them in file order instead, as
(key, line) pairs to read, the same 12 bytes an example.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import overload

BUCKETS = 256  # a power of two: an example's bucket is key & (BUCKETS - 1)


class ExampleKeys:
    """The keys of one dataset's examples (a hash of each record's canonical JSON)."""

    def __init__(self) -> None:
        self._keys = [array("q") for _ in range(BUCKETS)]
        self._lines = [array("I") for _ in range(BUCKETS)]  # 4 bytes: lines < 4e9

    def add(self, key: int, line: int) -> None:
        bucket = key & (BUCKETS - 1)
        self._keys[bucket].append(key)
        self._lines[bucket].append(line)

    def __len__(self) -> int:
        return sum(map(len, self._keys))

    def _firsts(self, keys: array[int], lines: array[int]) -> Iterator[tuple[int, int, int]]:
        """(key, line, line of its first example) of one bucket, in file order."""
        first: dict[int, int] = {}
        for key, line in zip(keys, lines, strict=True):
            yield key, line, first.setdefault(key, line)

    def duplicates(self) -> list[tuple[int, int]]:
        """(line, line of the first example equal to it) of each repeated example, in order."""
        found = []
        for keys, lines in zip(self._keys, self._lines, strict=True):
            if len(set(keys)) < len(keys):
                found += [(line, first) for _, line, first in self._firsts(keys, lines)
                          if line != first]
        return sorted(found)

    def shared_with(self, other: ExampleKeys) -> list[int]:
        """The first line of each distinct example here that `other` has too, in order."""
        found = []
        for keys, lines, theirs in zip(self._keys, self._lines, other._keys, strict=True):
            if common := set(keys).intersection(theirs):
                found += [line for key, line, first in self._firsts(keys, lines)
                          if line == first and key in common]
        return sorted(found)


class ExampleOrder(Sequence[tuple[int, int]]):
    """(key, line) of each example in file order, for plan.datadiff; a slice is one too."""

    def __init__(self, keys: array[int] | None = None, lines: array[int] | None = None
                 ) -> None:
        self._keys = array("q") if keys is None else keys
        self._lines = array("I") if lines is None else lines

    def append(self, key: int, line: int) -> None:
        self._keys.append(key)
        self._lines.append(line)

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, index: slice) -> ExampleOrder: ...

    def __getitem__(self, index: int | slice) -> tuple[int, int] | ExampleOrder:
        if isinstance(index, slice):
            return ExampleOrder(self._keys[index], self._lines[index])
        return self._keys[index], self._lines[index]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self._keys, self._lines, strict=True)
