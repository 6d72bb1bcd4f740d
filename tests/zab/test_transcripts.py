"""Golden transcripts of the ZAB core: every ``scripts/*.txt`` replays to itself.

After a deliberate change of behaviour, ``pytest tests/zab --rewrite-transcripts``
regenerates the expected output; review the diff like code.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from transcript import run_script

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.txt"))


def test_every_scenario_has_a_script() -> None:
    names = {p.stem for p in SCRIPTS}
    assert {"election_cold_start", "leader_crash_broadcast", "diff", "trunc", "snap"} <= names
    assert "observer" in names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_transcript(script: Path, request: pytest.FixtureRequest) -> None:
    expected = script.read_text()
    actual = run_script(expected)
    if request.config.getoption("--rewrite-transcripts"):
        script.write_text(actual)
    elif actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), "expected", "actual", lineterm=""
        )
        pytest.fail(f"{script.name} replays differently:\n" + "\n".join(diff), pytrace=False)
    # the interpreter's own invariant checks (divergence, truncation below applied, ...)
    breaches = [line.strip() for line in actual.splitlines() if line.lstrip().startswith("!!")]
    assert breaches == []


def test_a_wrong_expectation_is_caught() -> None:
    script = "add-nodes 1\n  n1 leading broadcast leader=1 epoch=1\n"
    assert run_script(script) != script


def test_output_is_regenerated_beneath_each_command() -> None:
    script = "# one voter decides alone\nadd-nodes 1\n  stale output\nstabilize\nstate\n"
    out = run_script(script).splitlines()
    assert out[0] == "# one voter decides alone"
    assert out[1] == "add-nodes 1"
    assert "stale output" not in out
    assert out[-2] == "state"
    assert out[-1].startswith("  n1 leading broadcast leader=1 accepted=1 current=1")


def test_unknown_commands_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown command"):
        run_script("add-nodes 1\nfrobnicate\n")
