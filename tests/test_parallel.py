"""Several worker processes: same figures, verdicts and shortest traces as one process;
checkpoints, memory limits and stable fingerprints."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from _results import figures

from agree.checker.limits import parse_size, rss_bytes, stable_fingerprint
from agree.checker.run import check
from agree.cli.main import main
from agree.models.paxos import Paxos
from agree.properties.paxos import PROPERTIES
from agree.protocols import registry
from agree.spec import Property, Spec, SpecError, action
from agree.traces.trace import decode_trace, to_json


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_same_figures_as_one_process(workers: int) -> None:
    spec = Paxos(max_ballot=1)
    assert figures(check(spec, PROPERTIES, workers=workers)) == figures(
        check(spec, PROPERTIES))


@pytest.mark.parametrize("name", ["paxos-pid-timestamp", "paxos-accept-below-promise"])
def test_violations_are_as_short_as_with_one_process(name: str) -> None:
    spec, props = registry.build(name, {})
    props = tuple(p for p in props if p.kind != "sometimes")
    serial = check(spec, props, stop_at_first=False)
    par = check(spec, props, workers=2, stop_at_first=False)
    assert figures(par) == figures(serial)
    assert par.violations
    for v in par.violations:
        assert v.trace is not None
        again = decode_trace(to_json(v.trace), registry.resolve)
        prop = next(p for p in props if p.name == v.property)
        assert not prop.holds(spec, again.states[-1])
    first = check(spec, props, workers=2)
    assert first.stopped == "violation"
    assert len(first.violations[0].trace or []) == min(
        len(v.trace or []) for v in serial.violations)


def test_symmetry_with_workers_counts_the_same_orbits() -> None:
    spec = Paxos(max_ballot=1)
    assert figures(check(spec, PROPERTIES, workers=2, symmetry=True)) == figures(
        check(spec, PROPERTIES, symmetry=True))


class Countdown(Spec[int]):
    """Counts down from 3 and stops: a deadlock at 0."""

    name: ClassVar[str] = "countdown"
    steps: ClassVar[range] = range(1, 3)

    def init(self) -> Iterable[int]:
        yield 3

    @action(k="steps")
    def down(self, s: int, k: int) -> int | None:
        return s - k if s - k >= 0 else None


def test_deadlock_is_found_at_the_same_depth() -> None:
    spec = Countdown()
    serial = check(spec, [], deadlock=True)
    par = check(spec, [], workers=2, deadlock=True)
    assert par.violations[0].kind == "deadlock"
    assert len(par.violations[0].trace or []) == len(serial.violations[0].trace or []) == 2


_STEPS_TAKEN: dict[int, int] = {}


class Drifting(Spec[int]):
    """Counts up to 6, but a step taken again from the same state goes one further
    (state outside the state: not a function of the state). With two workers, the
    successor of ``s`` has the other parity, so its owner is the other worker and the
    worker that generated it takes the step again once the owner keeps it."""

    name: ClassVar[str] = "drifting"

    def init(self) -> Iterable[int]:
        yield 0

    @action()
    def up(self, s: int) -> int | None:
        _STEPS_TAKEN[s] = _STEPS_TAKEN.get(s, 0) + 1
        return s + _STEPS_TAKEN[s] if s < 6 else None


def test_a_nondeterministic_spec_is_a_one_line_error(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"not deterministic: Up taken again"):
        check(Drifting(), [], workers=2)
    source = Path(__file__).read_text()
    start = source.index("_STEPS_TAKEN: dict")
    spec_file = tmp_path / "drifting.py"
    spec_file.write_text("from collections.abc import Iterable\nfrom typing import ClassVar\n"
                         "from agree.spec import Spec, action\n\n"
                         + source[start:source.index("def test_a_nondeterministic")])
    capsys.readouterr()
    assert main(["check", str(spec_file), "--workers", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not deterministic: Up taken again" in err


def test_sometimes_never_satisfied_is_reported() -> None:
    never = Property("never", "sometimes", lambda _spec, s: s < 0)
    par = check(Countdown(), [never], workers=2)
    assert [(v.property, v.kind) for v in par.violations] == [("never", "sometimes")]


def test_checkpoint_then_resume_finishes_the_same_search(tmp_path: Path) -> None:
    spec = Paxos(max_ballot=1)
    full = check(spec, PROPERTIES)
    first = check(spec, PROPERTIES, workers=2, max_states=1000, checkpoint=tmp_path / "cp")
    assert first.stopped == "max-states" and first.distinct < full.distinct
    assert (tmp_path / "cp" / "meta.json").exists()
    rest = check(spec, PROPERTIES, workers=2, resume=tmp_path / "cp")
    assert figures(rest) == figures(full)
    with pytest.raises(SpecError, match="workers"):
        check(spec, PROPERTIES, workers=3, resume=tmp_path / "cp")
    with pytest.raises(SpecError, match="no complete checkpoint"):
        check(spec, PROPERTIES, workers=2, resume=tmp_path / "nowhere")


def test_stable_fingerprints_do_not_depend_on_the_process() -> None:
    states: list[Any] = []
    spec = Paxos(max_ballot=1)
    state = next(iter(spec.init()))
    for t in list(spec.successors(state))[:3]:
        states.append(t.state)
    code = ("from agree.models.paxos import Paxos\n"
            "from agree.checker.limits import stable_fingerprint\n"
            "spec = Paxos(max_ballot=1)\n"
            "s = next(iter(spec.init()))\n"
            "print([stable_fingerprint(t.state) for t in list(spec.successors(s))[:3]])\n")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == str([stable_fingerprint(s) for s in states])
    assert len({stable_fingerprint(s) for s in states}) == len(states)


def test_memory_limit_stops_cleanly_with_a_partial_report() -> None:
    spec = Paxos(max_ballot=2)
    # small limits: the search stores about 120 bytes per state, and would take long
    # to use more
    limit = rss_bytes() + 9 * 2**20
    result = check(spec, PROPERTIES, memory_limit=limit)
    assert result.stopped == "memory" and not result.complete
    assert result.exit_code == 3 and result.distinct > 0
    # the workers hold less per state than they did (no candidate states): a space
    # too large to finish under the limit, so that reaching it does not depend on the
    # fingerprints' spread (Paxos MaxBallot 2 finished under it once in three runs)
    par = check(Paxos(max_ballot=3), PROPERTIES, workers=2,
                memory_limit=rss_bytes() + 6 * 2**20)
    assert par.stopped == "memory" and par.exit_code == 3 and par.distinct > 0


def test_sizes_and_cli_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_size("512M") == 512 * 2**20
    assert parse_size("1.5g") == int(1.5 * 2**30)
    with pytest.raises(SpecError):
        parse_size("lots")
    assert main(["check", "paxos", "--max-ballot", "0", "--memory", "lots"]) == 2
    assert main(["check", "paxos", "--max-ballot", "0", "--workers", "0"]) == 2
    capsys.readouterr()
    assert main(["check", "paxos", "--max-ballot", "0", "--workers", "2", "--quiet"]) == 0
    assert "All properties hold." in capsys.readouterr().out
