"""The expansion of one state with TLC's semantics, shared by every exhaustive engine
(the one-process BFS in explore.py, the workers of parallel.py and Ray, and through
them symmetry and ``--from``).

Expanding a state: every enabled (action, arguments) and its successor, in declared
order (agree.spec.enabled); each counts as generated for its action; action
properties are evaluated on every step; a successor that is the very same object as
its parent (a stutter) is already seen and is not looked up again; a successor outside
the state constraint is reachable, so its invariants are checked (unless
``check_pruned`` is off), but it is neither counted as distinct nor expanded; a state
with no enabled step is a deadlock (reported once, when asked for). Whether a
successor inside the constraint is new is the engine's business (its seen-set, or a
shard of one): the core asks the engine's ``admit`` and checks the properties of the
new ones.

What a step cannot have changed is not evaluated again: an invariant held, and a
``sometimes`` property was false, on the state being expanded, so on a successor whose
variables it reads are the very objects of its parent's (``step`` passes on the objects
of the variables an action leaves UNCHANGED) it gives the same answer and is skipped; so
is each conjunct of the state constraint, and an action property answers as on the
step from the state to itself (evaluated once per state). What a predicate reads is
inferred from its source (reads.py); when that is not sure, it is evaluated every time.
The successors go through code generated for the state type and the properties still
checked (stepcode.py), rebuilt when a property fails or is satisfied.

The core never prints and keeps what it finds as :data:`Found` records; the engines
turn them into traces their own way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from agree.checker.result import ActionStats, SpecRuntimeError
from agree.checker.stepcode import (
    compile_function,
    expansion,
    successor_check,
)
from agree.spec import Property, Spec
from agree.spec.build import field_index
from agree.spec.enabled import ActionRaised, enumerator
from agree.spec.reads import fields_read

__all__ = ["Admit", "Core", "Found", "Raised", "initial_states"]

#: What the core found: the property (None: a deadlock), the engine's key of the
#: parent (None/-1: the state is initial), the last step's action index (-1: none)
#: and arguments, and the state.
Found = tuple[Property | None, Any, int, tuple[Any, ...], Any]

#: The engine's seen-set: ``admit(state, parent, action index, args)`` is True when
#: the state is new and the engine has queued it.
Admit = Callable[[Any, Any, int, tuple[Any, ...]], bool]


class Raised(Exception):
    """The spec raised while a state was expanded or checked: ``where`` (an action's
    label or ``property NAME``), the parent key, the step (action index, -1: none, and
    arguments) and the state, and ``exc``, what it raised."""

    def __init__(self, where: str, parent: Any, index: int, args: tuple[Any, ...],
                 state: Any, exc: Exception) -> None:
        super().__init__(f"{where}: {type(exc).__name__}: {exc}")
        self.where, self.parent, self.index, self.args = where, parent, index, args
        self.state, self.exc = state, exc


def initial_states(spec: Spec[Any]) -> Iterator[Any]:
    """``spec.init()``, where an exception is the spec's bug and is reported as
    :class:`SpecRuntimeError` (one line, as when an action raises), not as a traceback."""
    try:
        yield from spec.init()
    except Exception as exc:
        raise SpecRuntimeError(f"the spec raised in init: {type(exc).__name__}: {exc}") \
            from exc


class Core:
    """The properties still to check and the per-action coverage of one engine (or one
    worker), and the expansion of a state."""

    def __init__(self, spec: Spec[Any], props: Sequence[Property], *, check_pruned: bool,
                 deadlock: bool) -> None:
        self.spec = spec
        self.invs = [p for p in props if p.kind == "invariant"]
        self.act_props = [p for p in props if p.kind == "action"]
        self.somes = [p for p in props if p.kind == "sometimes"]
        self.actions = spec.actions()
        self.stats = [ActionStats() for _ in self.actions]
        self.check_pruned = check_pruned
        self.deadlock = deadlock
        self.found: list[Found] = []
        self.satisfied: list[str] = []  # ``sometimes`` properties seen true
        # what each predicate reads, per state type (see reads.py), and the step checker
        # built from it for the properties still checked (rebuilt when they change)
        self._reads: dict[tuple[type, Any, int], tuple[int, ...] | None] = {}
        self._expand_code: list[Callable[..., None] | None] = [None]
        self._check_code: tuple[type, Callable[..., None]] | None = None

    @property
    def generated(self) -> int:
        """Successors generated so far (initial states not included)."""
        return sum(st.generated for st in self.stats)

    def drop(self, names: Sequence[str]) -> None:
        """Stop checking properties already violated (elsewhere: another worker)."""
        before = len(self.invs) + len(self.act_props)
        self.invs[:] = [p for p in self.invs if p.name not in names]
        self.act_props[:] = [p for p in self.act_props if p.name not in names]
        if len(self.invs) + len(self.act_props) != before:  # (the workers call it per level)
            self.changed()

    def changed(self) -> None:
        """The properties to check changed (one failed or was satisfied, or an engine
        edited ``invs``/``somes``): the step checker is rebuilt before its next use."""
        self._expand_code[0] = None
        self._check_code = None

    def _fail(self, prop: Property, parent: Any, index: int, args: tuple[Any, ...],
              state: Any) -> None:
        self.found.append((prop, parent, index, args, state))
        if prop in self.invs:
            self.invs.remove(prop)
        if prop in self.act_props:
            self.act_props.remove(prop)
        self.changed()

    def check_state(self, state: Any, parent: Any, index: int = -1,
                    args: tuple[Any, ...] = ()) -> None:
        """Evaluate the invariants and ``sometimes`` properties on a state reached by
        the step (``index``, ``args``) from ``parent``."""
        spec = self.spec
        broken: list[Property] = []
        reached: list[Property] = []
        p: Property | None = None
        try:
            for p in self.invs:
                if not p.fn(spec, state):
                    broken.append(p)
            for p in self.somes:
                if p.fn(spec, state):
                    reached.append(p)
        except Exception as exc:
            name = p.name if p is not None else "?"
            raise Raised(f"property {name}", parent, index, args, state, exc) from exc
        self._record(broken, reached, parent, index, args, state)

    def check_successor(self, s: Any, t: Any, parent: Any, index: int,
                        args: tuple[Any, ...]) -> None:
        """Check a new successor ``t`` of ``s`` (a state checked with the properties
        checked now) reached by the step (``index``, ``args``) from ``parent``: as
        :meth:`check_state`, skipping what the step cannot have changed (as the
        expansion does; stepcode.successor_check)."""
        cls = type(s)
        if type(t) is not cls:
            self.check_state(t, parent, index, args)
            return
        code = self._check_code
        if code is None or code[0] is not cls:
            ns: dict[str, Any] = {"_record": self._record, "_check_state": self.check_state}
            fn = compile_function(successor_check(self, cls, ns), ns, "check",
                                  "<agree successor check>")
            code = self._check_code = (cls, fn)
        code[1](s, t, parent, index, args)

    def _record(self, broken: Sequence[Property], reached: Sequence[Property], parent: Any,
                index: int, args: tuple[Any, ...], state: Any) -> None:
        for p in reached:
            self.somes.remove(p)
            self.satisfied.append(p.name)
        if reached:
            self.changed()
        for p in broken:
            self._fail(p, parent, index, args, state)

    def fields_of(self, cls: type, fn: Callable[..., Any], position: int = 1,
                  ) -> tuple[int, ...] | None:
        """The positions of the fields of a ``cls`` state that ``fn`` reads (None: any)."""
        key = (cls, fn, position)
        if key not in self._reads:
            index = field_index(cls)
            found = fields_read(fn, list(index), position) if index is not None else None
            self._reads[key] = (None if found is None or index is None
                                else tuple(sorted(index[f] for f in found)))
        return self._reads[key]

    def initial(self, s: Any, admit: Admit, root: Any = None) -> None:
        """An initial state, with TLC's semantics: inside the constraint it is the
        engine's to admit (``admit(s, root, -1, ())``, ``root`` the engine's parent key of
        an initial state) and checked when new; outside it is checked (unless
        ``check_pruned`` is off) but neither counted nor expanded."""
        spec = self.spec
        if type(spec).constraint is Spec.constraint or spec.constraint(s):
            if admit(s, root, -1, ()):
                self.check_state(s, root)
        elif self.check_pruned:
            self.check_state(s, root)

    def _step_broken(self, s: Any, t: Any, parent: Any, index: int, args: tuple[Any, ...],
                     stop: bool) -> None:
        for p in tuple(self.act_props):
            if not p.fn(self.spec, s, t):
                self._fail(p, parent, index, args, t)
                if stop:  # stopping anyway: the first is reported
                    return

    def _other(self, s: Any, t: Any, parent: Any, ai: int, args: tuple[Any, ...],
               admit: Admit, stop: bool) -> int:
        """A successor of another type than its parent's, the ordinary way: 0 when it
        ends as a stutter or a state already seen, 1 when it gets to the end, 2 when
        something was found on the way."""
        before = (len(self.found), len(self.somes), len(self.act_props))
        spec = self.spec
        for p in self.act_props:
            if not p.fn(spec, s, t):
                self._step_broken(s, t, parent, ai, args, stop)
                break
        if t is s:
            return 0
        if type(spec).constraint is Spec.constraint or spec.constraint(t):
            if not admit(t, parent, ai, args):
                return 0
            self.stats[ai].distinct += 1
            checked = True
        else:
            checked = self.check_pruned
        if checked and (self.invs or self.somes):
            self.check_state(t, parent, ai, args)
        return 1 if (len(self.found), len(self.somes), len(self.act_props)) == before else 2

    def expander(self, admit: Admit, stop: bool) -> Callable[[Any, Any], None]:
        """The function expanding a state (``expand(state, parent key)``); with ``stop``
        it returns at the first violation (the run is about to stop). The successors go
        through code generated for the state type and the properties still checked
        (stepcode.expansion), built anew when either changes."""
        spec = self.spec
        enabled = enumerator(spec)
        constrained = type(spec).constraint is not Spec.constraint
        found = self.found
        labels = [a.label for a in self.actions]
        holder = self._expand_code
        current: list[Any] = [None]  # the state type the code is for

        def other(s: Any, t: Any, parent: Any, ai: int, args: tuple[Any, ...]) -> int:
            return self._other(s, t, parent, ai, args, admit, stop)

        def resume(s: Any, parent: Any, succ: list[Any], start: int) -> None:
            code = holder[0]
            if code is None or current[0] is not type(s):
                ns: dict[str, Any] = {
                    "_admit": admit, "_stats": self.stats, "_found": found, "_stop": stop,
                    "_broken": self._step_broken, "_record": self._record,
                    "_check_state": self.check_state, "_other": other, "_resume": resume,
                    "_position": _position}
                lines = expansion(self, type(s), ns, constrained=constrained,
                                  check_pruned=self.check_pruned)
                code = holder[0] = compile_function(lines, ns, "expand", "<agree expansion>")
                current[0] = type(s)
            code(s, parent, succ, start)

        def expand(s: Any, parent: Any) -> None:
            try:
                succ = enabled(s)
            except ActionRaised as raised:
                raise Raised(labels[raised.index], parent, -1, (), s, raised.exc) \
                    from raised.exc
            if succ:
                resume(s, parent, succ, 0)
            elif self.deadlock and not (found and stop):
                found.append((None, parent, -1, (), s))
                self.deadlock = False  # report the first (shallowest) deadlock only

        return expand


def _position(succ: Sequence[Any], ai: int, args: tuple[Any, ...], t: Any) -> int:
    """Where the step (action ``ai``, ``args``, ``t``) is in a state's list of steps
    (an action's steps of one state each have their own argument tuple)."""
    return next(k for k, (bi, a, u) in enumerate(succ) if bi == ai and a is args and u is t)
