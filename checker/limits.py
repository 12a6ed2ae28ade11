"""Long runs: stable fingerprints, memory measurement, and a memory limit.

Python's ``hash`` is not stable across interpreter runs: strings are hashed
with a per-process random key (PYTHONHASHSEED), and in Python 3.11 ``None``
hashes by address. That is fine inside one process, and across worker
processes forked from one parent (they inherit the key and the addresses), but
a checkpoint resumed by a new process needs fingerprints that mean the same
thing tomorrow. :func:`stable_fingerprint` is 64 bits of BLAKE2b over a
canonical encoding of the state (sets sorted by their elements' encodings),
slower than ``hash`` and used only when checkpointing.

``--memory LIMIT`` is enforced by measuring resident memory (:func:`rss_bytes`,
from ``/proc``) while exploring and stopping cleanly, with the partial figures,
before the limit is crossed: never an out-of-memory kill (see run.py and
parallel.py).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from typing import Any

from agree.spec import SpecError

__all__ = [
    "parse_size",
    "rss_bytes",
    "stable_fingerprint",
]

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20,
          "mib": 2**20, "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40}


def parse_size(text: str) -> int:
    """``"512M"``, ``"2G"``, ``"1.5GB"``, ``"100000000"`` -> bytes."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if m is None or m.group(2).lower() not in _UNITS:
        raise SpecError(f"--memory: cannot read {text!r} as a size (say 512M or 2G)")
    size = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if size <= 0:
        raise SpecError("--memory must be positive")
    return size


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes(pid: int | None = None) -> int:
    """Resident memory of a process (this one by default), 0 when unknown."""
    try:
        with open(f"/proc/{pid or 'self'}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        try:
            import resource
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        except (ImportError, OSError):  # pragma: no cover - non-POSIX
            return 0


_MASK = 2**64 - 1
_STR: dict[str, int] = {}
_TYPE: dict[type, int] = {}


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _mix(h: int) -> int:
    """splitmix64's finalizer: every input bit affects every output bit."""
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK
    return h ^ (h >> 31)


_ELEMENTS: dict[Any, int] = {}


def _element(x: Any) -> int:
    """Set elements (messages) recur in many states: remember their hashes."""
    h = _ELEMENTS.get(x)
    if h is None:
        if len(_ELEMENTS) > 1 << 20:
            _ELEMENTS.clear()
        h = _ELEMENTS[x] = _mix(_stable(x))
    return h


def _stable(v: Any) -> int:
    t = type(v)
    if t is int:
        return _mix(v & _MASK ^ 0x1F)
    if v is None:
        return 0x6A09E667F3BCC908
    if t is str:
        h = _STR.get(v)
        if h is None:
            h = _STR[v] = _digest("s" + v)
        return h
    if t is bool:
        return 0x3C6EF372FE94F82B if v else 0xA54FF53A5F1D36F1
    if isinstance(v, tuple):
        h = _TYPE.get(t)
        if h is None:
            h = _TYPE[t] = _digest("t" + t.__qualname__)
        for x in v:
            h = _mix(h * 0x100000001B3 ^ _stable(x))
        return h
    if isinstance(v, frozenset | set):  # order-free: a sum of mixed element hashes
        return _mix(sum(_element(x) for x in v) & _MASK ^ len(v))
    if isinstance(v, Mapping):
        return _mix(sum(_mix(_stable(k) * 31 ^ _stable(x)) for k, x in v.items()) & _MASK
                    ^ 0x5BE0CD19137E2179)
    if isinstance(v, float | bytes):
        return _digest(repr(v))
    if hasattr(v, "__dataclass_fields__"):
        return _stable((t.__qualname__, *(getattr(v, f) for f in v.__dataclass_fields__)))
    raise SpecError(f"cannot fingerprint a {t.__name__} stably: states must be made of "
                    "tuples, frozensets, dicts, ints, strings and None")


def stable_fingerprint(state: Any) -> int:
    """A 64-bit fingerprint that is the same in every process and every run."""
    h = _stable(state)
    return h - 2**64 if h >= 2**63 else h
