"""A local workaround until the kit's catalogue takes it: ``lazily_persisted_commit_index``.

PySyncObj stores its commit index in the journal's metadata once a second, so a node
killed within that second comes back with an *older* commit index than it had. The
catalogue's ``persisted_commit_index`` allows only the value it had before. This
deviation allows any value from 1 up to that one: still safe (a prefix of what was
committed is committed), and a node coming back with a higher one is still refused.
Importing this module registers it (examples/pysyncobj/client.py does, so
``agree chaos --client examples/pysyncobj/client.py:Client`` knows the name).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agree.conformance.deviations import CATALOGUE, Deviation
from agree.models.raft import Raft
from agree.models.raft_types import RaftState, put
from agree.spec import Transition

NAME = "lazily_persisted_commit_index"


def lazily_persisted_commit_index(spec: Raft, prev: RaftState, t: Transition[Any],
                                  ) -> Iterator[RaftState]:
    """**Lazily persisted commit index.** Restart restores any commit_index from 1 up to
    the one the server had (raft.tla's Restart sets 0)."""
    i = t.args[0]
    for c in range(1, prev.commit_index[i] + 1):
        yield t.state._replace(commit_index=put(t.state.commit_index, i, c))


CATALOGUE.setdefault(NAME, Deviation(NAME, ("Restart",), lazily_persisted_commit_index))
