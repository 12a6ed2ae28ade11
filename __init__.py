"""agree: a workbench for checking consensus protocols.

The public API for writing and checking your own protocol::

    from agree import Spec, action, invariant, sometimes, check
"""

from agree.checker.result import CheckResult, Violation
from agree.checker.run import check
from agree.spec import (
    Param,
    Property,
    Spec,
    SpecError,
    action,
    action_property,
    invariant,
    sometimes,
)
from agree.traces.trace import Trace

__all__ = [
    "CheckResult",
    "Param",
    "Property",
    "Spec",
    "SpecError",
    "Trace",
    "Violation",
    "action",
    "action_property",
    "check",
    "invariant",
    "sometimes",
]
__version__ = "0.1.0"
