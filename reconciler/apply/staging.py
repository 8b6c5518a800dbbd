"""Local datasets staged to their content-addressed objects: exactly the bytes that were
hashed, or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.edges.storage import Storage
from reconciler.errors import TuneopsError
from reconciler.kinds.base import Upload, staged_hash
from reconciler.load.datasets import snapshot
from reconciler.load.files import repository_file
from reconciler.load.writes import scratch


@contextmanager
def verified_copy(root: Path, source: str, content_hash: str) -> Iterator[Path]:
    """A snapshot of tuneops' own of the repository file `source`, whose content hash is
    the planned `content_hash`; refused (nothing is read on) when the file changed."""
    path, refusal = repository_file(root, source)
    if refusal:
        raise TuneopsError(f"{source}: {refusal}; nothing was launched")
    with scratch() as directory:
        copy = directory / "dataset.jsonl"
        try:
            with path.open("rb") as original, copy.open("wb") as out:
                found = snapshot(original, out)
        except OSError as error:
            raise TuneopsError(f"{source}: cannot read: {error.strerror}") from None
        if found != content_hash:
            raise TuneopsError(f"{source} changed since it was planned (its content hash is "
                               "no longer the planned one); nothing was uploaded or launched "
                               "for this job: plan and apply again")
        yield copy


def stage(storage: Storage, root: Path, upload: Upload) -> None:
    """Uploads a dataset to its content-addressed object, exactly the bytes that were hashed.

    The file is copied to a snapshot of tuneops' own while its content hash is computed; the
    snapshot is uploaded only if that hash is the planned one (the object's name), so an
    edit while apply runs can never stage other data under the planned name and label.
    """
    if storage.exists(upload.destination):
        return  # named by its content: what is there is what was hashed
    with verified_copy(root, upload.source, staged_hash(upload.destination)) as copy:
        storage.upload(copy, upload.destination)
