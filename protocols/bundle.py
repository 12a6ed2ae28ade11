"""A protocol as one bundle: its model (which declares its symmetry), properties,
defaults, symbolic side, implementation side and bug zoo, named once.

``protocols`` sits below ``symbolic/`` and ``conformance/`` in the import layers, so a
bundle refers to what lives there (Z3 encodings, the prove/bmc driver, seeded
implementation bugs, the conformance machine) by ``"module:attr"`` strings, imported
on first use. A user's spec file gets a bundle too, holding the loaded class and its
``PROPERTIES`` directly (a reference may be the object itself) and no symbolic side.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from agree.spec import Property, Spec

__all__ = ["Params", "Protocol", "Ref", "SpecEntry", "ZooVariant", "resolve_ref"]

#: Parameters that differ from the spec class's defaults, as (name, value) pairs.
Params = tuple[tuple[str, Any], ...]
#: ``"module:attr"`` imported on first use, or the object itself; "" for none.
Ref = Any

_RESOLVED: dict[str, Any] = {}


def resolve_ref(ref: Ref) -> Any:
    """The object a reference names: ``"module:attr"`` is imported (once), anything
    else is the object itself; ``""`` and ``None`` are ``None``."""
    if ref is None or ref == "":
        return None
    if not isinstance(ref, str):
        return ref
    if ref not in _RESOLVED:
        module, _, attr = ref.partition(":")
        _RESOLVED[ref] = getattr(importlib.import_module(module), attr)
    return _RESOLVED[ref]


def _defined_at(ref: Ref) -> tuple[str, int]:
    """Where ``"module:attr"`` is defined: its module, and its place among the module's
    names (objects given directly sort first, in their given order)."""
    if not isinstance(ref, str):
        return "", 0
    resolve_ref(ref)
    module, _, attr = ref.partition(":")
    return module, list(vars(sys.modules[module])).index(attr)


@dataclass(frozen=True)
class ZooVariant:
    """A known mistake in a protocol: one model override (``models/zoo/``) and, where they
    exist, the same mistake in the Z3 encoding (``prove``), the finite BMC encoding
    (``bmc``) and the implementation (``impl_bug``, a seeded bug of ``conformance/``)."""

    name: str
    model: Ref  # the spec class overriding one step of the protocol's model
    summary: str
    breaks: str  # the property it violates
    source: str  # where the mistake is documented
    defaults: Params = ()  # the smallest failing configuration benchmarks/zoo_search.py found
    prove: Ref = ""  # the Z3 encoding override (agree prove, agree bmc --encoding arrays)
    bmc: Ref = ""  # the finite BMC encoding override (agree bmc)
    impl_bug: Ref = ""  # the same mistake seeded into impl/ (a conformance SeededBug)
    replays: bool = True  # its traces replay on impl/ (through the protocol's impl_replay)
    group: str = "zoo"  # as `agree list` shows it ("zoo", or "article" for the article's ids)
    # What finding and checking it costs; tests and benchmarks derive their tables from
    # these. Where its counterexample is stored says the rest: traces/golden/ if the
    # checker finds it from Init within ~100,000 states, else traces/zoo_deep/; the
    # correct-protocol prefix a deep one is searched ``--from``, if any, in
    # traces/zoo_deep/prefix/.
    found_with_symmetry: bool = False  # its stored counterexample was found with --symmetry
    #: How long the correct protocol takes to explore ``defaults`` completely: "seconds",
    #: "minutes", "too large" (beyond what the test suite explores), "" (not measured).
    explored_in: str = ""
    #: Overrides of ``defaults`` for a configuration explored completely in seconds, where
    #: ``defaults`` is not one (quick tests check the variant there).
    small: Params = ()
    #: `agree bmc` finds it within 15 minutes only after replaying this many steps of
    #: the correct protocol (its stored prefix if that is as long, else the first steps
    #: of its counterexample); 0: from Init.
    bmc_from: int = 0


@dataclass(frozen=True)
class Protocol:
    """Everything `agree` knows about one protocol; commands ask it, none branch on a name.

    ``symbolic`` is the prove/bmc driver (``symbolic/<protocol>/driver.py``: which flags
    apply, how encodings are built and solved); ``prove`` and ``bmc`` the encodings of the
    correct protocol; ``conformance`` the Hypothesis machine factory over ``impl/``;
    ``impl_bugs`` the seeded bugs no zoo variant models (the others hang off their variant);
    ``impl_replay`` drives ``impl/`` through one of its traces (`agree trace replay --impl`),
    which must carry the parameters ``impl_replay_params``.
    """

    name: str
    model: Ref  # the spec class (models/)
    properties: Ref  # a sequence of Property (properties/, or the spec file's PROPERTIES)
    summary: str
    group: str = "protocol"  # "protocol" or "article" (as `agree list` shows it)
    breaks: str = ""  # for an unsafe protocol: the property it violates
    source: str = ""  # ... and where that is documented
    defaults: Params = ()  # parameters that differ from the class's
    symbolic: Ref = ""
    prove: Ref = ""
    bmc: Ref = ""
    conformance: Ref = ""
    impl_bugs: tuple[Ref, ...] = ()
    impl_replay: Ref = ""
    impl_replay_params: tuple[str, ...] = ()
    zoo: tuple[ZooVariant, ...] = field(default=())

    def entries(self) -> Iterator[SpecEntry]:
        """The protocol itself, then its zoo variants: every name it answers to."""
        yield SpecEntry(self)
        for v in self.zoo:
            yield SpecEntry(self, v)

    def seeded_bugs(self) -> tuple[Any, ...]:
        """Its seeded implementation bugs (its zoo variants' and those of no variant), in
        the order their module defines them (`agree conform --list-bugs` shows them so)."""
        refs = [*(v.impl_bug for v in self.zoo if v.impl_bug), *self.impl_bugs]
        return tuple(resolve_ref(r) for r in sorted(refs, key=_defined_at))


@dataclass(frozen=True)
class SpecEntry:
    """A name commands accept: a protocol, or one of its zoo variants (``variant``).
    Reads through to the variant where it overrides, else to the protocol."""

    protocol: Protocol
    variant: ZooVariant | None = None

    @property
    def name(self) -> str:
        return self.variant.name if self.variant else self.protocol.name

    @property
    def group(self) -> str:
        return self.variant.group if self.variant else self.protocol.group

    @property
    def summary(self) -> str:
        return (self.variant or self.protocol).summary

    @property
    def breaks(self) -> str:
        return (self.variant or self.protocol).breaks

    @property
    def source(self) -> str:
        return (self.variant or self.protocol).source

    @property
    def defaults(self) -> Params:
        return (self.variant or self.protocol).defaults

    @property
    def spec(self) -> Ref:
        """The reference to the spec class."""
        return (self.variant or self.protocol).model

    @property
    def properties(self) -> Ref:
        """The reference to the properties (the protocol's)."""
        return self.protocol.properties

    def spec_class(self) -> type[Spec[Any]]:
        return resolve_ref(self.spec)  # type: ignore[no-any-return]

    def property_list(self) -> tuple[Property, ...]:
        return tuple(resolve_ref(self.protocol.properties) or ())

    def driver(self) -> Any:
        """The protocol's prove/bmc driver, or None (no symbolic side)."""
        return resolve_ref(self.protocol.symbolic)

    def prove_encoding(self) -> Any:
        """The Z3 encoding class of this entry, or None."""
        return resolve_ref(self.variant.prove if self.variant else self.protocol.prove)

    def bmc_encoding(self) -> Any:
        """The finite BMC encoding class of this entry, or None."""
        return resolve_ref(self.variant.bmc if self.variant else self.protocol.bmc)

    def impl_replay(self) -> Any:
        """The function replaying this entry's traces on impl/, or None."""
        if self.variant is not None and not self.variant.replays:
            return None
        return resolve_ref(self.protocol.impl_replay)

    def impl_bug(self) -> Any:
        """The zoo variant's seeded implementation bug, or None."""
        return resolve_ref(self.variant.impl_bug) if self.variant else None
