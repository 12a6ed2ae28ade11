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
is the state constraint. What a predicate reads is inferred from its source (reads.py);
when that is not sure, it is evaluated every time.

The core never prints and keeps what it finds as :data:`Found` records; the engines
turn them into traces their own way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from agree.checker.reads import conjuncts, fields_read
from agree.checker.result import ActionStats, SpecRuntimeError
from agree.spec import Property, Spec
from agree.spec.build import field_index
from agree.spec.enabled import ActionRaised, enumerator

__all__ = ["Admit", "Core", "Found", "Raised", "initial_states"]

#: What the core found: the property (None: a deadlock), the engine's key of the
#: parent (None/-1: the state is initial), the last step's action index (-1: none)
#: and arguments, and the state.
Found = tuple[Property | None, Any, int, tuple[Any, ...], Any]

#: The engine's seen-set: ``admit(state, parent, action index, args)`` is True when
#: the state is new and the engine has queued it.
Admit = Callable[[Any, Any, int, tuple[Any, ...]], bool]


#: The step checker's answer "check this successor the ordinary way".
_SLOW = object()


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


def _same_objects(fields: Sequence[int]) -> str:
    """The generated test that successor ``_t`` holds the very objects of parent ``_s`` in
    those fields (``True`` for none)."""
    return " and ".join(f"_t[{i}] is _s[{i}]" for i in fields) or "True"


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
        self._reads: dict[tuple[type, Any], tuple[int, ...] | None] = {}
        self._step_check: list[Callable[[Any, Any], Any] | None] = [None]
        self._act_check: list[Callable[[Any, Any], bool] | None] = [None]

    @property
    def generated(self) -> int:
        """Successors generated so far (initial states not included)."""
        return sum(st.generated for st in self.stats)

    def drop(self, names: Sequence[str]) -> None:
        """Stop checking properties already violated (elsewhere: another worker)."""
        self.invs[:] = [p for p in self.invs if p.name not in names]
        self.act_props[:] = [p for p in self.act_props if p.name not in names]
        self.changed()

    def changed(self) -> None:
        """The properties to check changed (one failed or was satisfied, or an engine
        edited ``invs``/``somes``): the step checker is rebuilt before its next use."""
        self._step_check[0] = None
        self._act_check[0] = None

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

    def _record(self, broken: Sequence[Property], reached: Sequence[Property], parent: Any,
                index: int, args: tuple[Any, ...], state: Any) -> None:
        for p in reached:
            self.somes.remove(p)
            self.satisfied.append(p.name)
        if reached:
            self.changed()
        for p in broken:
            self._fail(p, parent, index, args, state)

    def _fields(self, cls: type, fn: Callable[..., Any], position: int = 1,
                ) -> tuple[int, ...] | None:
        """The positions of the fields of a ``cls`` state that ``fn`` reads (None: any)."""
        key = (cls, fn)
        if key not in self._reads:
            index = field_index(cls)
            found = fields_read(fn, list(index), position) if index is not None else None
            self._reads[key] = (None if found is None or index is None
                                else tuple(sorted(index[f] for f in found)))
        return self._reads[key]

    def _build_step_check(self, cls: type) -> Callable[[Any, Any], Any]:
        """``check(s, t)`` for a successor ``t`` of an expanded state ``s`` of type
        ``cls``: the invariants and ``sometimes`` properties still checked, each
        evaluated on ``t`` unless every field it reads is the very object of ``s``'s
        (then it answers as it did on ``s``: an invariant held there, since ``s`` was
        checked and it is still checked; a ``sometimes`` property was false there, else
        it would be satisfied). Returns None (nothing found), ``(broken, reached)``, or
        :data:`_SLOW`: evaluate ``t`` the ordinary way (another state type, or a
        property raised: check_state reports it)."""
        ns: dict[str, Any] = {"_spec": self.spec, "_cls": cls, "_type": type, "_SLOW": _SLOW}
        body: list[str] = []
        every: set[int] | None = set()  # the fields any of them reads (None: unknown)
        for kind, props in (("b", self.invs), ("r", self.somes)):
            for k, p in enumerate(props):
                fields = self._fields(cls, p.fn)
                if every is not None:
                    every = None if fields is None else every | set(fields)
                if fields == ():
                    continue  # reads no field: as on s
                ns[f"_f{kind}{k}"], ns[f"_p{kind}{k}"] = p.fn, p
                test = f"_f{kind}{k}(_spec, _t)"
                cond = test if kind == "r" else f"not {test}"
                if fields is not None:
                    cond = f"not ({_same_objects(fields)}) and {cond}"
                body += [f"        if {cond}:", f"            _{kind} += (_p{kind}{k},)"]
        lines = ["def check(_s, _t):",
                 "    if _type(_t) is not _cls or _type(_s) is not _cls:",
                 "        return _SLOW",
                 # the common case first: the step left alone every field they read
                 *([f"    if {_same_objects(sorted(every))}:", "        return None"]
                   if every else []),
                 "    _b = _r = ()",
                 "    try:", *(body or ["        pass"]),
                 "    except Exception:",
                 "        return _SLOW",
                 "    return (_b, _r) if _b or _r else None"]
        exec(compile("\n".join(lines), "<agree step check>", "exec"), ns)
        fn: Callable[[Any, Any], Any] = ns["check"]
        return fn

    def _build_act_check(self, cls: type) -> Callable[[Any, Any], bool]:
        """``ok(s, t)``: every action property still checked holds on the step from
        ``s`` to ``t`` (states of type ``cls``). One whose fields of ``t`` are the very
        objects of ``s``'s answers as on the step from ``s`` to ``s``, evaluated once per
        ``s``: it reads the same objects either way."""
        ns: dict[str, Any] = {"_spec": self.spec, "_cls": cls, "_type": type}
        body: list[str] = []
        for k, p in enumerate(self.act_props):
            ns[f"_f{k}"], ns[f"_m{k}"] = p.fn, [None, True]
            fields = self._fields(cls, p.fn, 2)
            if fields is None:
                body += [f"    if not _f{k}(_spec, _s, _t):", "        return False"]
                continue
            body += [f"    if {_same_objects(fields)}:",
                     f"        _m = _m{k}",
                     "        if _m[0] is not _s:",
                     f"            _m[1] = bool(_f{k}(_spec, _s, _s))",
                     "            _m[0] = _s",
                     "        if not _m[1]:",
                     "            return False",
                     f"    elif not _f{k}(_spec, _s, _t):",
                     "        return False"]
        plain = [f"_f{k}(_spec, _s, _t)" for k in range(len(self.act_props))]
        lines = ["def ok(_s, _t):",
                 "    if _type(_t) is not _cls or _type(_s) is not _cls:",
                 f"        return bool({' and '.join(plain) or 'True'})",
                 *body,
                 "    return True"]
        exec(compile("\n".join(lines), "<agree action properties>", "exec"), ns)
        fn: Callable[[Any, Any], bool] = ns["ok"]
        return fn

    def _build_inside(self, cls: type) -> Callable[[Any, Any], bool]:
        """``inside(s, t)``: the state constraint on a successor ``t`` of an expanded
        state ``s`` (inside it) of type ``cls``. A constraint written as a conjunction
        (``return A and B and ...``, see reads.conjuncts) is evaluated conjunct by
        conjunct, skipping each whose fields are the very objects of ``s``'s (it held on
        ``s``); another, as a whole unless every field it reads is ``s``'s."""
        constraint = self.spec.constraint
        method = type(self.spec).constraint
        index = field_index(cls)
        parts = conjuncts(method, list(index)) if index is not None else None
        if parts is None:
            fields = self._fields(cls, method)
            if fields is None:
                return lambda _s, t: bool(constraint(t))
            parts = [(method, frozenset(f for f in index or {} if index[f] in fields))]
        ns: dict[str, Any] = {"_constraint": constraint, "_cls": cls, "_type": type,
                              "_spec": self.spec}
        lines = ["def inside(_s, _t):",
                 "    if _type(_t) is not _cls or _type(_s) is not _cls:",
                 "        return bool(_constraint(_t))"]
        for k, (fn, read) in enumerate(parts):
            if not read:
                continue  # reads no field: as on s
            ns[f"_c{k}"] = fn
            same = _same_objects(sorted(index[f] for f in read))  # type: ignore[index]
            lines += [f"    if not ({same}) and not _c{k}(_spec, _t):", "        return False"]
        lines.append("    return True")
        exec(compile("\n".join(lines), "<agree constraint>", "exec"), ns)
        fn: Callable[[Any, Any], bool] = ns["inside"]
        return fn

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

    def expander(self, admit: Admit, stop: bool) -> Callable[[Any, Any], None]:
        """The function expanding a state (``expand(state, parent key)``); with ``stop``
        it returns at the first violation (the run is about to stop)."""
        spec = self.spec
        enabled = enumerator(spec)
        constrained = type(spec).constraint is not Spec.constraint
        stats = self.stats
        invs, act_props, somes, found = self.invs, self.act_props, self.somes, self.found
        check_pruned, check_state, step_broken = (self.check_pruned, self.check_state,
                                                  self._step_broken)
        record = self._record
        labels = [a.label for a in self.actions]
        holder, act_holder = self._step_check, self._act_check
        # per state type (one in practice): the constraint and step checker for it
        current: list[Any] = [None, None]

        def expand(s: Any, parent: Any) -> None:
            try:
                succ = enabled(s)
            except ActionRaised as raised:
                raise Raised(labels[raised.index], parent, -1, (), s, raised.exc) \
                    from raised.exc
            cls = type(s)
            if current[0] is not cls:
                current[0], current[1] = cls, self._build_inside(cls) if constrained else None
                holder[0] = act_holder[0] = None
            inside = current[1]
            for ai, args, t in succ:
                st = stats[ai]
                st.generated += 1
                if act_props:
                    act_ok = act_holder[0]
                    if act_ok is None:
                        act_ok = act_holder[0] = self._build_act_check(cls)
                    if not act_ok(s, t):
                        step_broken(s, t, parent, ai, args, stop)
                if t is s:  # a stutter returning the very state: seen, nothing to do
                    continue
                if not constrained or inside(s, t):
                    if not admit(t, parent, ai, args):
                        continue
                    st.distinct += 1
                    checked = True
                else:
                    checked = check_pruned
                if checked and (invs or somes):
                    check = holder[0]
                    if check is None:
                        check = holder[0] = self._build_step_check(cls)
                    res = check(s, t)
                    if res is not None:
                        if res is _SLOW:
                            check_state(t, parent, ai, args)
                        else:
                            record(res[0], res[1], parent, ai, args, t)
                if found and stop:
                    break
            if not succ and self.deadlock and not (found and stop):
                found.append((None, parent, -1, (), s))
                self.deadlock = False  # report the first (shallowest) deadlock only

        return expand
