"""The protocol bundles (protocols/catalog.py): every lazy ``"module:attr"`` reference
resolves to the kind of thing it names, every zoo variant appears once, and each
variant's overrides are overrides of its own protocol's classes, under its own name."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agree.conformance.bugs import SeededBug, seeded, seeded_bugs
from agree.protocols import registry
from agree.protocols.bundle import Protocol, SpecEntry, ZooVariant, resolve_ref
from agree.spec import Property, Spec, SpecError
from agree.symbolic.driver import SymbolicDriver, encoded_names
from agree.symbolic.z3base import Encoding

PROTOCOLS = registry.protocols()
ENTRIES = [e for p in PROTOCOLS for e in p.entries()]


def _refs(p: Protocol) -> list[tuple[str, Any]]:
    """Every reference of a bundle, with the field it sits in."""
    out: list[tuple[str, Any]] = [
        ("model", p.model), ("properties", p.properties), ("symbolic", p.symbolic),
        ("prove", p.prove), ("bmc", p.bmc), ("conformance", p.conformance),
        ("impl_replay", p.impl_replay), *(("impl_bugs", r) for r in p.impl_bugs)]
    for v in p.zoo:
        out += [("model", v.model), ("prove", v.prove), ("bmc", v.bmc),
                ("impl_bugs", v.impl_bug)]
    return [(f, r) for f, r in out if r]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_every_reference_resolves_to_what_its_field_says(protocol: Protocol) -> None:
    kinds: dict[str, Any] = {
        "model": lambda o: isinstance(o, type) and issubclass(o, Spec),
        "properties": lambda o: all(isinstance(x, Property) for x in o) and len(o) > 0,
        "symbolic": lambda o: isinstance(o, SymbolicDriver),
        "prove": lambda o: isinstance(o, type) and issubclass(o, Encoding),
        "bmc": lambda o: isinstance(o, type) and issubclass(o, Encoding),  # finite ones
        "conformance": callable, "impl_replay": callable,
        "impl_bugs": lambda o: isinstance(o, SeededBug),
    }
    for field, ref in _refs(protocol):
        assert isinstance(ref, str) and ref.count(":") == 1, (field, ref)
        assert kinds[field](resolve_ref(ref)), f"{protocol.name}.{field}: {ref}"


def test_every_name_and_every_seeded_bug_appears_once() -> None:
    names = Counter(e.name for e in ENTRIES)
    assert [n for n, k in names.items() if k > 1] == []
    assert sorted(names) == sorted(e.name for e in registry.entries())
    bugs = Counter(b.name for b in seeded_bugs())
    assert [n for n, k in bugs.items() if k > 1] == []
    refs = Counter(r for p in PROTOCOLS for f, r in _refs(p) if f != "properties")
    shared = {r for r, k in refs.items() if k > 1}
    # only the drivers are shared (Paxos' serves paxos-liveness, which has no encoding)
    assert shared <= {p.symbolic for p in PROTOCOLS}


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.variant is not None],
                         ids=lambda e: e.name)
def test_a_variant_overrides_its_own_protocol_under_its_own_name(entry: SpecEntry) -> None:
    proto = SpecEntry(entry.protocol)
    assert entry.spec_class().name == entry.name
    assert issubclass(entry.spec_class(), proto.spec_class())
    assert entry.breaks in {p.name for p in entry.property_list()}
    assert entry.source and entry.summary
    for mine, base in ((entry.prove_encoding(), proto.prove_encoding()),
                       (entry.bmc_encoding(), proto.bmc_encoding())):
        if mine is not None:
            assert issubclass(mine, base) and mine is not base
            assert mine.spec_name == entry.name
    bug = entry.impl_bug()
    if bug is not None:
        assert bug in entry.protocol.seeded_bugs()


def test_the_protocols_encodings_carry_their_names() -> None:
    for p in PROTOCOLS:
        e = SpecEntry(p)
        for enc in (e.prove_encoding(), e.bmc_encoding()):
            assert enc is None or enc.spec_name == p.name


def test_every_encoded_name_has_a_driver() -> None:
    assert encoded_names()
    for name in encoded_names():
        assert isinstance(registry.get(name).driver(), SymbolicDriver)


def test_a_spec_file_is_a_bundle_without_a_symbolic_side() -> None:
    src = Path(__file__).parents[1] / "examples" / "two_phase_commit.py"
    entry = registry.lookup(str(src))
    assert isinstance(entry.protocol, Protocol) and entry.variant is None
    assert issubclass(entry.spec_class(), Spec) and entry.defaults == ()
    assert entry.driver() is None and entry.prove_encoding() is None
    assert entry.impl_replay() is None and entry.protocol.seeded_bugs() == ()
    cls, props, defaults = registry.load(str(src))
    assert cls.name == entry.name and props == entry.property_list() and defaults == {}


def test_unknown_names_and_bugs_are_clear_errors() -> None:
    with pytest.raises(SpecError, match="unknown spec 'nope'"):
        registry.get("nope")
    assert registry.find("nope") is None
    with pytest.raises(KeyError, match="no seeded bug"), seeded("nope"):
        pass


def test_bundle_types_are_frozen() -> None:
    v = ZooVariant("x", "m:C", "s", "b", "src")
    with pytest.raises(AttributeError):
        v.name = "y"  # type: ignore[misc]
