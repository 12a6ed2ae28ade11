"""Storage faults for the simulator, public so `agree chaos` and users' tests share them.

Arm a node and it crashes at its next write (the next time the simulator handles its
Ready, i.e. after the next step, tick, proposal or timeout that gives it work):

* ``crash_after_persist(k)``: the write reaches the disk, then the node dies before
  sending any message or applying anything (the Ready's persist happened, the rest not);
* ``torn_write(k)``: the write never reaches the disk (a transaction that did not commit:
  the storage is as before), and the node dies.

Either way the node stays down until the test restarts it; ``triggered`` lists the
(node, fault) pairs that fired, in order. Clock skew is ``Simulator.skew``.
"""

from __future__ import annotations

from typing import Literal

from agree.impl.raft import Ready
from agree.impl.storage import MemoryStorage

__all__ = ["STORAGE_FAULTS", "Faults", "StorageFault"]

StorageFault = Literal["crash-after-persist", "torn-write"]
STORAGE_FAULTS: tuple[StorageFault, ...] = ("crash-after-persist", "torn-write")


class Faults:
    """Storage faults armed per node (at most one per node; arming again replaces it)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.armed: dict[int, StorageFault] = {}
        #: faults that fired: (node, fault), in order
        self.triggered: list[tuple[int, StorageFault]] = []

    def crash_after_persist(self, k: int) -> None:
        """Node k crashes at its next write, after persisting it, before sending."""
        self.arm(k, "crash-after-persist")

    def torn_write(self, k: int) -> None:
        """Node k crashes at its next write, which is lost (the disk stays as it was)."""
        self.arm(k, "torn-write")

    def arm(self, k: int, fault: StorageFault) -> None:
        """Arm fault at node k; ValueError for an unknown node or fault."""
        if not isinstance(k, int) or not 0 <= k < self.n:
            raise ValueError(f"no node {k!r}: nodes are 0..{self.n - 1}")
        if fault not in STORAGE_FAULTS:
            raise ValueError(f"unknown storage fault {fault!r}: one of "
                             f"{', '.join(STORAGE_FAULTS)}")
        self.armed[k] = fault

    def disarm(self, k: int | None = None) -> None:
        """Disarm node k (every node if k is None)."""
        if k is None:
            self.armed.clear()
        else:
            self.armed.pop(k, None)

    def fire(self, k: int, ready: Ready, storage: MemoryStorage) -> bool:
        """If node k is armed, do its fault with this Ready (persist it or not) and return
        True: the caller must then take the node down without sending or applying."""
        fault = self.armed.pop(k, None)
        if fault is None:
            return False
        if fault == "crash-after-persist":
            storage.save(ready)  # durable, but nothing is sent or applied
        # a torn write: the transaction never committed, so the disk is as before
        self.triggered.append((k, fault))
        return True
