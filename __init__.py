"""agree: a workbench for checking consensus protocols.

The public API for writing and checking your own protocol::

    from agree import Spec, action, invariant, sometimes, check

The names are loaded on first use (PEP 562), so importing a subpackage loads only what
it imports itself: ``python -m agree.impl.server`` runs the service without loading any
of the checker side, and ``import agree.spec`` no engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agree.checker.result import CheckResult, Violation
    from agree.checker.run import check
    from agree.spec import (
        Fact,
        Param,
        Property,
        Spec,
        SpecError,
        Witness,
        action,
        action_property,
        invariant,
        sometimes,
    )
    from agree.traces.trace import Trace

__all__ = [
    "CheckResult",
    "Fact",
    "Param",
    "Property",
    "Spec",
    "SpecError",
    "Trace",
    "Violation",
    "Witness",
    "action",
    "action_property",
    "check",
    "invariant",
    "sometimes",
]
__version__ = "0.1.0"

#: Where the public names live, lowest layer first.
_HOMES = ("agree.spec", "agree.traces.trace", "agree.checker.result", "agree.checker.run")


def __getattr__(name: str) -> Any:
    if name in __all__:
        # lowest layer first, so that ``from agree import Spec`` loads no engine
        for home in _HOMES:
            value = getattr(importlib.import_module(home), name, None)
            if value is not None:
                globals()[name] = value
                return value
    raise AttributeError(f"module 'agree' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
