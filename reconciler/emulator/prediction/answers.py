"""A deterministic model of a tuned model: it answers with the model turn of the training
example whose prompt is most like the one asked.

So a run tuned on data close to what it is asked answers close to the reference, and one
tuned on unrelated data answers with something unrelated, as the real thing would, only
far more crudely. Similarity is rapidfuzz's normalised Indel ratio over the prompts' text,
lowercased and stripped of punctuation (rapidfuzz.utils.default_process); ties go to the
earlier example. Undocumented, of course: the real service runs the tuned weights.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from reconciler.emulator.examples import LINE_BYTES


def text_of(turns: Iterable[Mapping[str, Any]]) -> str:
    """The text of a conversation's turns, one paragraph a part."""
    return "\n".join(str(part.get("text", "")) for turn in turns
                     for part in turn.get("parts", []) if isinstance(part, Mapping))


@dataclass(frozen=True)
class Answers:
    prompts: Sequence[str]
    answers: Sequence[str]

    @classmethod
    def read(cls, stream: BinaryIO) -> Answers:
        """From a supervised-tuning JSONL stream: each line's turns before the last are its
        prompt, the last (the model's) its answer. Lines that are not so are skipped, as a
        run drops examples it cannot use."""
        prompts: list[str] = []
        answers: list[str] = []
        for raw in iter(lambda: stream.readline(LINE_BYTES), b""):
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            contents = record.get("contents") if isinstance(record, dict) else None
            if not isinstance(contents, list) or len(contents) < 2:
                continue
            prompts.append(text_of(contents[:-1]))
            answers.append(text_of(contents[-1:]))
        return cls(prompts, answers)

    def answer(self, prompt: str) -> str:
        from rapidfuzz import fuzz, process, utils  # noqa: PLC0415  (imported when asked)

        if not self.prompts:
            return ""
        found = process.extractOne(prompt, self.prompts, scorer=fuzz.ratio,
                                   processor=utils.default_process)
        return self.answers[found[2]] if found is not None else self.answers[0]
