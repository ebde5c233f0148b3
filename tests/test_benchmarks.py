"""README's benchmark commands run on the runtime install (no test or lint tools)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Packages only the `dev` extra installs (plus the optional store drivers).
DEV_ONLY = ("pytest", "_pytest", "pytest_asyncio", "matplotlib", "playwright", "mypy")
# Runs a script as `python SCRIPT ARGS...` would, with the dev-only packages unimportable.
RUNNER = """
import os, runpy, sys
blocked = set(sys.argv[1].split(","))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (dev only)", name=name)
sys.meta_path.insert(0, Block())
sys.argv = sys.argv[2:]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def readme_benchmarks() -> list[str]:
    """The scripts README's Benchmarks section tells users to run."""
    section = (ROOT / "README.md").read_text().split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    return sorted(set(re.findall(r"^python (benchmarks/\w+\.py)", section, re.MULTILINE)))


def run_without_dev(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in a fresh interpreter that cannot import the dev-only packages."""
    return subprocess.run(
        [sys.executable, "-c", RUNNER, ",".join(DEV_ONLY), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_readme_lists_the_benchmarks() -> None:
    """The parser below finds the README's commands (so the next test checks something)."""
    assert "benchmarks/latency.py" in readme_benchmarks()
    assert len(readme_benchmarks()) >= 6


@pytest.mark.parametrize("script", readme_benchmarks())
def test_each_benchmark_starts_without_dev_tools(script: str) -> None:
    """Every benchmark imports and parses its options without pytest or matplotlib."""
    result = run_without_dev(script, "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout


def test_a_benchmark_runs_to_the_end_without_dev_tools(tmp_path: Path) -> None:
    """The dialogue benchmark runs and writes its JSON on the runtime install."""
    out = tmp_path / "dialogue.json"
    result = run_without_dev(
        "benchmarks/dialogue_latency.py", "--conversations", "2", "--json", str(out)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "nlu_parse" in out.read_text()


def test_plot_without_matplotlib_says_so_before_running() -> None:
    """``--plot`` needs matplotlib: without it load.py stops at once and says what to do."""
    result = run_without_dev("benchmarks/load.py", "--calls", "1", "--plot", "x.png")
    assert result.returncode == 2
    assert "--plot needs matplotlib" in result.stderr


def test_turn_taking_runs_its_smallest_size_and_skips_a_refused_rule(tmp_path: Path) -> None:
    """One clip of each kind against real `telephonist run` servers with the scripted engines:
    two rules measured side by side, the longer end-of-utterance pause answering later (the
    silence rule alone: ``turn: {model: none}``); a rule the server refuses is skipped with
    its reason."""
    pytest.importorskip("hibari")  # the backchannel words are spoken by the local voice
    from tests.audio_samples import load_prompt

    load_prompt("agent-pass")  # skips without the recorded prompts
    out = tmp_path / "turns.json"
    result = run_without_dev(
        "benchmarks/turn_taking.py",
        "--engines",
        "scripted",
        "--per-kind",
        "1",
        "--rule",
        "short={vad: {min_silence_ms: 200}, turn: {model: none}}",
        "--rule",
        "long={vad: {min_silence_ms: 600}, turn: {model: none}}",
        "--rule",
        "refused=no_such_key: 1",
        "--json",
        str(out),
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipped: the server exited" in result.stdout
    short, long, refused = json.loads(out.read_text())["results"]
    assert refused["skipped"] and "no_such_key" in refused["skipped"]
    for rule in (short, long):
        assert rule["skipped"] is None
        assert rule["latency_from_speech_end_ms"]["n"] == 1
        assert rule["cut_off"]["complete"][1] == rule["cut_off"]["paused"][1] == 1
        assert rule["non_words"]["played"] == 2
    assert (
        long["latency_from_speech_end_ms"]["p50"]
        >= short["latency_from_speech_end_ms"]["p50"] + 200
    )


def test_load_level_answers_every_turn_of_the_lean_generator(tmp_path: Path) -> None:
    """One load level over real sockets: the generator's own frame writer (masked frames
    written straight to the socket, marks echoed without awaiting) is understood by the
    server, which answers every turn and rejects no message."""
    from tests.audio_samples import load_prompt

    load_prompt("agent-pass")  # skips without the recorded prompts
    out = tmp_path / "load.json"
    result = run_without_dev(
        "benchmarks/load.py", "--calls", "3", "--seconds", "8", "--json", str(out), timeout=200
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (level,) = json.loads(out.read_text())["levels"]
    assert level["turns"] >= 3
    assert level["lost_turns"] == level["failed_calls"] == level["dropped_calls"] == 0
    assert level["rejected_messages"] == 0
    assert level["latency_from_speech_end_ms"]["p50"] < 1000
