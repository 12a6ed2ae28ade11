"""A spec whose bug is exactly 15 steps deep, for the searches beyond a depth cap
(swarm deepening and restarts)."""

from __future__ import annotations

from typing import Any

from agree import Spec, action, invariant


class Counter(Spec[int]):
    """A counter that only counts up, one at a time; it must stay below 15."""

    name = "counter"

    def init(self) -> Any:
        yield 0

    @action()
    def up(self, s: int) -> int | None:
        return s + 1

    def constraint(self, s: int) -> bool:
        return s <= 20

    @invariant
    def below_fifteen(self, s: int) -> bool:
        return s < 15
