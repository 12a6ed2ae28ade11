"""How fast is the linearizability checker? Figures, not a pass/fail test.

Builds histories of a real single-copy register run by C concurrent clients (each
operation takes effect at a random instant inside its interval, a few time out),
over K keys, and times check_history on them; then the same with one stale read
planted, to time finding and shrinking a violation.

    python benchmarks/chaos_checker.py [--write-docs]   # --write-docs: docs/benchmarks/chaos.md
"""

from __future__ import annotations

import random
import sys
import time

from report import Provenance, Table, write_page

from agree.chaos.history import Operation
from agree.chaos.linearizability import check_history


def history(n: int, clients: int, keys: int, seed: int) -> list[Operation]:
    """Operation i takes effect at instant 10*i; its interval reaches about ``clients``
    operations either side, so about that many are concurrent at any time."""
    rng = random.Random(seed)
    state: dict[str, str | None] = {}
    ops = []
    for i in range(n):
        point = 10.0 * i
        call = point - rng.random() * 10 * clients
        ret = point + rng.random() * 10 * clients
        key = f"k{rng.randrange(keys)}"
        kind = rng.choice(["put", "get", "get", "cas", "delete"])
        timed_out = rng.random() < 0.02
        value, expected, out = f"v{i}", state.get(key), None
        if kind == "put":
            state[key] = value
        elif kind == "get":
            out = state.get(key)
        elif kind == "delete":
            out = state.get(key) is not None
            state[key] = None
        else:
            expected = state.get(key) if rng.random() < 0.6 else "nope"
            out = state.get(key) == expected
            if out:
                state[key] = value
        # a call given up on is bounded by its client's next answer (a session guarantee)
        ops.append(Operation(i, i % clients, kind, key, call, None if timed_out else ret,
                             value=value, expected=expected, output=None if timed_out else out,
                             deadline=ret + 10 * clients if timed_out else None))
    return ops


def main() -> None:
    rows: list[list[object]] = []
    print(f"{'operations':>10} {'overlap':>7} {'keys':>4} {'verdict':>9} {'seconds':>8}")
    for n, clients, keys in [(1_000, 4, 2), (10_000, 4, 2), (10_000, 8, 4), (2_000, 8, 1),
                             (100_000, 4, 8)]:
        ops = history(n, clients, keys, seed=n + clients)
        start = time.perf_counter()
        r = check_history(ops, time_limit=120)
        seconds = time.perf_counter() - start
        rows.append([n, clients, keys, r.verdict, f"{seconds:.2f} s", ""])
        print(f"{n:>10,} {clients:>7} {keys:>4} {r.verdict:>9} {seconds:>8.2f}")
    ops = history(2_000, 4, 2, seed=1)
    last_put = max((o for o in ops if o.kind == "put" and o.key == "k0"), key=lambda o: o.id)
    end = max(o.ret or o.call for o in ops) + 10
    ops.append(Operation(10**6, 99, "put", "k0", end, end + 1, value="fresh"))
    ops.append(Operation(10**6 + 1, 99, "get", "k0", end + 2, end + 3, output=last_put.value))
    start = time.perf_counter()
    r = check_history(ops, time_limit=120)
    seconds = time.perf_counter() - start
    (bad,) = r.violations
    rows.append([2_001, 4, 2, r.verdict, f"{seconds:.2f} s",
                 f"a stale read planted; shrunk to {len(bad.minimal)} operations"])
    print(f"stale read planted in 2,000 operations: {r.verdict}, shrunk to "
          f"{len(bad.minimal)} operations in {seconds:.2f} s")
    if "--write-docs" in sys.argv[1:]:
        write_page("chaos", "The linearizability checker",
                   "`check_history` (agree.chaos.linearizability) on histories of a real "
                   "single-copy register: about `overlap` operations concurrent at any "
                   "time, over `keys` keys, a few timed out; then one stale read planted, "
                   "to time finding and shrinking a violation.",
                   [Table("check_history", Provenance.now(),
                          ["operations", "overlap", "keys", "verdict", "seconds", "note"],
                          rows)], "python benchmarks/chaos_checker.py --write-docs")


if __name__ == "__main__":
    main()
