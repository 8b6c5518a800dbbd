"""`python -m reconciler` is `reconcile`."""

from reconciler.cli import entrypoint

entrypoint()
