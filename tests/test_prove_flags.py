"""`agree prove` refuses the other protocol's flags rather than ignoring them: `prove raft
--acceptors 5` used to print PROVED for 3 servers."""

from __future__ import annotations

import pytest

from agree.cli.main import main


@pytest.mark.parametrize("argv,flag", [
    (["prove", "raft", "--acceptors", "5"], "--acceptors"),
    (["prove", "raft-forget-vote", "--acceptors", "any"], "--acceptors"),
    (["prove", "paxos", "--servers", "5"], "--servers"),
    (["prove", "paxos-amnesia", "--part", "election"], "--part"),
])
def test_the_other_protocols_flag_is_an_error(argv: list[str], flag: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out = capsys.readouterr()
    assert flag in out.err and "does not apply" in out.err and "PROVED" not in out.out


def test_each_protocols_own_flags_still_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "paxos", "--acceptors", "1", "--action", "Phase1a"]) == 0
    assert main(["prove", "raft", "--servers", "1", "--part", "election",
                 "--action", "Timeout"]) == 0
    out = capsys.readouterr().out
    assert out.count("PROVED") == 2 and "servers: 1" in out


def test_a_split_obligation_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """Phase2a => inv_2a_safe' is proved by cases (old 2a messages, then the new one per
    majority): the checklist says how many, --json names them."""
    import json
    assert main(["prove", "paxos", "--action", "Phase2a"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "inv_2a_safe'" in ln)
    assert "(by 4 cases)" in line
    assert main(["prove", "paxos", "--action", "Phase2a", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    split = next(o for o in doc["obligations"]
                 if o["conjunct"] == "inv_2a_safe" and o["action"] == "Phase2a")
    assert len(split["cases"]) == 4 and "the old 2a messages" in split["cases"]


@pytest.mark.parametrize("argv,words", [
    (["bmc", "paxos", "--depth", "3", "--from", "x.json"], "--from is for Raft"),
    (["bmc", "raft", "--depth", "2", "--encoding", "arrays"], "--encoding arrays is for Paxos"),
])
def test_bmc_flags_of_one_protocol_are_refused_for_the_other(
        argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_bmc_help_lists_from_and_incremental(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bmc", "--help"])
    out = capsys.readouterr().out
    assert "--from" in out and "--incremental" in out
