"""A deterministic model of a tuned model: it answers with the model turn of the training
example whose prompt is most like the one asked.

A training line is a supervised-tuning example in any of the formats the tuning services
read: `contents` (turns of `parts`), `messages` (turns of `{role, content}`), or `prompt`
and `completion`; its last turn is the answer, the turns before it the prompt.

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


def chat_text(messages: Iterable[Any]) -> str:
    """The text of chat turns (`{role, content}`), one paragraph a turn."""
    return "\n".join(str(message.get("content", "")) for message in messages
                     if isinstance(message, Mapping))


def example(record: Any) -> tuple[str, str] | None:
    """(prompt, answer) of one training line, or None when it is none of the formats."""
    if not isinstance(record, dict):
        return None
    for key, text in (("contents", text_of), ("messages", chat_text)):
        turns = record.get(key)
        if isinstance(turns, list) and len(turns) >= 2:
            return text(turns[:-1]), text(turns[-1:])
    prompt, completion = record.get("prompt"), record.get("completion")
    if isinstance(prompt, str) and isinstance(completion, str):
        return prompt, completion
    return None


@dataclass(frozen=True)
class Answers:
    prompts: Sequence[str]
    answers: Sequence[str]

    @classmethod
    def read(cls, stream: BinaryIO) -> Answers:
        """From a supervised-tuning JSONL stream. Lines that are no example are skipped, as
        a run drops examples it cannot use."""
        prompts: list[str] = []
        answers: list[str] = []
        for raw in iter(lambda: stream.readline(LINE_BYTES), b""):
            try:
                found = example(json.loads(raw))
            except ValueError:
                continue
            if found is not None:
                prompts.append(found[0])
                answers.append(found[1])
        return cls(prompts, answers)

    def answer(self, prompt: str) -> str:
        from rapidfuzz import fuzz, process, utils  # noqa: PLC0415  (imported when asked)

        if not self.prompts:
            return ""
        found = process.extractOne(prompt, self.prompts, scorer=fuzz.ratio,
                                   processor=utils.default_process)
        return self.answers[found[2]] if found is not None else self.answers[0]
