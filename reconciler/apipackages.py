"""Vertex AI's API packages, imported a module at a time.

`google.cloud.aiplatform_v1` and `aiplatform_v1beta1`, and their `types` packages, import in
their `__init__` every service client of the API (with its REST and asyncio transports) and
every message: about a second each, paid by every command that reaches Vertex AI or the
emulator, for the seven services tuneops calls. Python runs a package's `__init__` before any
module inside it, so these packages are registered here, before anything imports them, as
packages whose `__init__` runs only when a name it defines is asked for; a module inside one
(`types.tuning_job`, `services.gen_ai_tuning_service`) is imported alone. The CLI registers
them as it starts (a library importing tuneops keeps its own imports as they are); tuneops
imports only such modules (tests/test_startup.py), and code that asks a package for a name
it re-exports still gets it, at the old cost, then.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import cast

PACKAGES = ("google.cloud.aiplatform_v1", "google.cloud.aiplatform_v1.types",
            "google.cloud.aiplatform_v1beta1", "google.cloud.aiplatform_v1beta1.types")


class _Deferred(ModuleType):
    """A package whose `__init__` has not run. A name it lacks is a module inside it
    (imported alone) or one its `__init__` defines (which runs then, once)."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        inner = f"{self.__name__}.{name}"
        if importlib.util.find_spec(inner) is not None:
            return importlib.import_module(inner)
        spec = self.__spec__
        assert spec is not None and spec.loader is not None
        self.__class__ = cast("type[_Deferred]", ModuleType)  # an ordinary package now
        spec.loader.exec_module(self)
        return getattr(self, name)


def defer_api_packages() -> None:
    """Registers each of PACKAGES (installed, not yet imported) as deferred."""
    for name in PACKAGES:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.submodule_search_locations is None:
            continue
        module = importlib.util.module_from_spec(spec)
        module.__class__ = _Deferred
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, module)
