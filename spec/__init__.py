"""The spec API: what a protocol author imports, and nothing of any engine.

``from agree.spec import Spec, action, invariant`` is all a model needs (with the
declared speed hooks ``history`` and ``per_state``, see agree.spec.api); engines,
renderers and the command line build on this package, never the other way round.
"""

from agree.spec.api import (
    Action,
    Domain,
    Param,
    Property,
    PropertyKind,
    Spec,
    SpecError,
    Transition,
    action,
    action_property,
    eventually,
    history,
    indexed,
    invariant,
    leads_to,
    per_state,
    property_of,
    replace,
    sometimes,
)

__all__ = [
    "Action",
    "Domain",
    "Param",
    "Property",
    "PropertyKind",
    "Spec",
    "SpecError",
    "Transition",
    "action",
    "action_property",
    "eventually",
    "history",
    "indexed",
    "invariant",
    "leads_to",
    "per_state",
    "property_of",
    "replace",
    "sometimes",
]
