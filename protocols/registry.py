"""The specs `agree` knows by name, and loading a user's spec from a file.

Each protocol is one bundle (protocols/bundle.py, listed in protocols/catalog.py):
its model, properties, defaults, symbolic side, implementation side and zoo. A name
commands accept is a :class:`SpecEntry`: a protocol or one of its zoo variants. A
user's ``FILE.py`` becomes a bundle of its spec class and ``PROPERTIES``.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agree.protocols.bundle import Protocol, SpecEntry, ZooVariant
from agree.protocols.catalog import LISTING_ORDER, PROTOCOLS
from agree.spec import Property, Spec, SpecError

__all__ = ["Protocol", "SpecEntry", "ZooVariant", "build", "coerce_params", "entries", "find",
           "get", "is_file", "listed", "load", "load_user_spec", "lookup", "protocols", "resolve"]


def protocols() -> tuple[Protocol, ...]:
    """Every protocol bundle, in the order `agree prove` names what is encoded."""
    return PROTOCOLS


def _listing_rank(p: Protocol) -> int:
    return LISTING_ORDER.index(p.name) if p.name in LISTING_ORDER else len(LISTING_ORDER)


def listed(bundles: Sequence[Protocol]) -> list[Protocol]:
    """``bundles`` in the order listings of protocols' zoos and implementations use."""
    return sorted(bundles, key=_listing_rank)


def entries() -> list[SpecEntry]:
    """Every registered name, protocols first, then the article's, then the zoo."""
    order = {"protocol": 0, "article": 1, "zoo": 2}

    def key(e: SpecEntry) -> tuple[int, int]:
        zoo_rank = -1 if e.variant is None else _listing_rank(e.protocol)
        return order.get(e.group, 3), zoo_rank

    return sorted((e for p in PROTOCOLS for e in p.entries()), key=key)


def get(name: str) -> SpecEntry:
    """The entry called ``name``; an unknown name is a :class:`SpecError`."""
    entry = find(name)
    if entry is not None:
        return entry
    known = ", ".join(e.name for e in entries())
    raise SpecError(f"unknown spec {name!r} (known: {known}; `agree list` describes them)")


def find(name: str) -> SpecEntry | None:
    """The entry called ``name``, or None."""
    return next((e for p in PROTOCOLS for e in p.entries() if e.name == name), None)


def lookup(name: str) -> SpecEntry:
    """The entry of a registered name, or the bundle of a user's ``FILE.py[:Class]``
    (its spec class and ``PROPERTIES``; no defaults, no symbolic side)."""
    if is_file(name):
        cls, props = load_user_spec(name)
        return SpecEntry(Protocol(cls.name or cls.__name__, cls, props, summary=""))
    return get(name)


def coerce_params(cls: type[Spec[Any]], given: Mapping[str, Any],
                  defaults: Mapping[str, Any] = {}) -> dict[str, Any]:
    """Check parameter names and types against the spec's signature."""
    params = {p.name: p for p in cls.parameters()}
    out = dict(defaults)
    for key, value in given.items():
        name = key.replace("-", "_")
        if name not in params:
            known = ", ".join(p.flag for p in params.values()) or "none"
            raise SpecError(f"spec {cls.name} has no parameter {key!r} (parameters: {known})")
        typ = params[name].type
        if typ is bool:
            if not isinstance(value, bool):
                raise SpecError(f"parameter {name} must be true or false, not {value!r}")
        elif typ is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpecError(f"parameter {name} must be an integer, not {value!r}")
            if value > params[name].max:
                raise SpecError(f"parameter {name} = {value} is beyond what {cls.name} "
                                f"accepts (at most {params[name].max})")
        out[name] = value
    return out


def build(name: str, params: Mapping[str, Any] | None = None,
          ) -> tuple[Spec[Any], tuple[Property, ...]]:
    """Instantiate a registered spec with parameters; returns it with its properties."""
    entry = get(name)
    cls = entry.spec_class()
    spec = cls(**coerce_params(cls, params or {}, dict(entry.defaults)))
    return spec, entry.property_list()


def load(name: str) -> tuple[type[Spec[Any]], tuple[Property, ...], dict[str, Any]]:
    """The spec class, its properties and its default parameters, for a registered
    name or a user's ``FILE.py[:Class]``."""
    entry = lookup(name)
    return entry.spec_class(), entry.property_list(), dict(entry.defaults)


def resolve(name: str, params: Mapping[str, Any]) -> tuple[Spec[Any], Sequence[Property]]:
    """Resolver for trace files: a registered name, or ``file.py:Class`` of a user spec."""
    cls, props, defaults = load(name)
    spec = cls(**coerce_params(cls, params, defaults))
    return spec, (*spec.declared_properties(), *props)


def file_resolver(ref: str) -> Callable[[str, Mapping[str, Any]],
                                        tuple[Spec[Any], Sequence[Property]]]:
    """A resolver for trace files of the user spec ``FILE.py[:Class]`` (a trace records
    the spec's name, not the file it came from): the file is loaded now, and a trace
    naming another spec is refused."""
    if not is_file(ref):
        raise SpecError(f"--spec {ref}: give the spec's FILE.py[:Class] (a registered spec "
                        "is found by the name the trace records)")
    entry = lookup(ref)

    def resolve_file(name: str, params: Mapping[str, Any],
                     ) -> tuple[Spec[Any], Sequence[Property]]:
        if name != entry.name:
            raise SpecError(f"{ref} defines spec {entry.name!r}, not {name!r}")
        cls = entry.spec_class()
        spec = cls(**coerce_params(cls, params))
        return spec, (*spec.declared_properties(), *entry.property_list())
    return resolve_file


def is_file(name: str) -> bool:
    """Whether a spec reference names a file (``FILE.py[:Class]``), not a registered spec."""
    return name.endswith(".py") or ".py:" in name


def load_user_spec(ref: str) -> tuple[type[Spec[Any]], tuple[Property, ...]]:
    """Load ``path/to/file.py`` (or ``file.py:ClassName``): the spec class it defines
    and any module-level ``PROPERTIES``."""
    path_s, _, cls_name = ref.partition(".py:")
    path = Path(path_s if not cls_name else path_s + ".py")
    if not path.is_file():
        raise SpecError(f"no such spec file: {path}")
    mod_name = f"agree_user_spec_{abs(hash(str(path.resolve())))}"
    loader_spec = importlib.util.spec_from_file_location(mod_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise SpecError(f"cannot load {path} as Python")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[mod_name] = module
    # As `python FILE.py` would: the file's folder is importable while it loads, so a
    # spec file may import its sibling (a seeded variant of the spec next to it).
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:
        raise SpecError(f"{path} raised on import: {type(exc).__name__}: {exc}") from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    classes = [c for c in vars(module).values()
               if inspect.isclass(c) and issubclass(c, Spec) and c is not Spec
               and c.__module__ == mod_name]
    if cls_name:
        classes = [c for c in classes if c.__name__ == cls_name]
    if len(classes) != 1:
        what = f"a spec class {cls_name!r}" if cls_name else "exactly one Spec subclass"
        raise SpecError(f"{path} must define {what} (found {len(classes)}); "
                        "name one with FILE.py:ClassName")
    props = tuple(getattr(module, "PROPERTIES", ()))
    return classes[0], props

