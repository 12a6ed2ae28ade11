"""The layering holds when the code runs, not only in import-linter's static graph: the
root package loads its public names lazily, so a subpackage brings in only what it
imports itself."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_LOADED = """
import json, sys
for name in sys.argv[1:]:
    __import__(name)
print(json.dumps({"agree": sorted({m.split(".")[1] for m in sys.modules
                                   if m.startswith("agree.")}),
                  "z3": "z3" in sys.modules, "networkx": "networkx" in sys.modules}))
"""


def loaded(*modules: str) -> dict[str, object]:
    """What importing ``modules`` in a fresh interpreter loads: agree's subpackages, and
    whether z3 and networkx came along."""
    out = subprocess.run([sys.executable, "-c", _LOADED, *modules], capture_output=True,
                         text=True, check=True, timeout=60)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_the_server_loads_nothing_of_the_checker_side() -> None:
    # agree.eventlog: the stdlib-only event-log writer any implementation may use
    assert loaded("agree.impl.server", "agree.impl.node")["agree"] == ["eventlog", "impl"]


def test_the_event_log_writer_loads_nothing_of_agree() -> None:
    assert loaded("agree.eventlog")["agree"] == ["eventlog"]


def test_the_spec_api_loads_no_engine() -> None:
    assert loaded("agree.spec")["agree"] == ["spec"]


@pytest.mark.parametrize("module", ["agree.models.raft", "agree.properties.paxos",
                                    "agree.protocols.registry"])
def test_models_properties_and_protocols_load_neither_z3_nor_an_engine(module: str) -> None:
    got = loaded(module)
    assert got["z3"] is False
    assert not {"checker", "symbolic", "conformance", "chaos", "cli"} & set(got["agree"])  # type: ignore[arg-type]


def test_a_plain_check_loads_neither_z3_nor_networkx() -> None:
    got = loaded("agree.checker.run", "agree.cli.check")
    assert got["z3"] is False and got["networkx"] is False


def test_the_public_names_still_come_from_the_root_package() -> None:
    import agree

    assert agree.Spec.__module__ == "agree.spec.api"
    assert agree.check.__module__ == "agree.checker.run"
    assert set(agree.__all__) <= set(dir(agree))
    with pytest.raises(AttributeError):
        _ = agree.no_such_name  # type: ignore[attr-defined]
