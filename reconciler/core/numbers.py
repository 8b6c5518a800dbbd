"""PURE: the numbers of a YAML document as their writer meant them.

PyYAML reads YAML 1.1, where a float needs a dot and a signed exponent: `2e-4`, `1e3` and
`2.0e4` are strings there, though YAML 1.2 and every other reader take them as numbers, and
learning rates and prices are written so. Every float field of a job or of the settings
carries `YAML_NUMBER`, so each takes them as numbers; `0.0002`, `2.0e-4` and `1` are numbers
already. Only a float field reads them so: elsewhere (a label value "1e3") a string stays a
string.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

# YAML 1.2's core schema float with an exponent (the forms YAML 1.1 leaves as strings).
_EXPONENT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+$")


def exponent_as_number(value: Any) -> Any:
    """A string in exponent notation as the float it writes; anything else unchanged (the
    field's own validation then says what is wrong with it)."""
    return float(value) if isinstance(value, str) and _EXPONENT.match(value) else value


# Last in a field's Annotated, after its Field constraints: pydantic then still writes them
# as JSON Schema's own keywords (exclusiveMinimum...), not as pydantic's ("gt").
YAML_NUMBER = BeforeValidator(exponent_as_number)
# A price or a budget in dollars: zero or more, finite.
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False), YAML_NUMBER]
