"""`telephonist init`, `shell`, `check` and `export` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from telephonist.cli import main
from telephonist.cli.shell import run_shell
from telephonist.errors import ConfigError
from telephonist.turn import smart_turn

CREDENTIALS_BLOCK = {
    "server_url": "localhost:5005",
    "asr": {"name": "local"},
    "tts": {"name": "local"},
    "monitor_silence": True,
}


def test_init_writes_a_complete_project(project: Path) -> None:
    """init creates every project file, with the offline twilio_media_streams block."""
    for name in (
        "config.yml",
        "credentials.yml",
        "domain.yml",
        "endpoints.yml",
        "README.md",
        "data/nlu.yml",
        "data/flows.yml",
        "actions/actions.py",
    ):
        assert (project / name).is_file(), name
    credentials = yaml.safe_load((project / "credentials.yml").read_text())
    assert credentials == {"twilio_media_streams": CREDENTIALS_BLOCK}
    endpoints = yaml.safe_load((project / "endpoints.yml").read_text())
    assert endpoints["tracker_store"]["type"] == "sqlite"
    assert endpoints["action_endpoint"] == {"actions_module": "actions", "timeout": 5}


def test_init_refuses_to_overwrite(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second init into the same directory fails unless --force is given."""
    (project / "domain.yml").write_text("intents: []\n")
    assert main(["init", str(project)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["init", str(project), "--force"]) == 0
    assert "utter_greet" in (project / "domain.yml").read_text()


def test_check_passes_starter(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The starter checks clean; a warning alone (an unreachable step) is printed and exits 0."""
    assert main(["check", str(project)]) == 0
    assert capsys.readouterr().out == ""
    flows = project / "data" / "flows.yml"
    flows.write_text(
        flows.read_text().replace(
            "      - action: utter_goodbye\n", "      - action: utter_goodbye\n        next: END\n"
        )
    )
    assert main(["check", "--project", str(project)]) == 0
    out = capsys.readouterr()
    assert "flows.goodbye.steps[1]: step can never run (no step leads to it) (warning)" in out.out
    assert "0 error(s), 1 warning(s)" in out.err


def test_check_reports_file_line_key(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken flow gives FILE:LINE: KEY: MESSAGE and exit status 1."""
    flows = project / "data" / "flows.yml"
    flows.write_text(flows.read_text().replace("link: billing", "link: bill"))
    assert main(["check", str(project)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(
        line.startswith("data/flows.yml:")
        and ": flows.main_menu.steps[0.0.then.0].link: no flow with id 'bill'" in line
        for line in lines
    )


def test_check_validates_the_tracker_store_block_without_connecting(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Redis block with a misspelt key fails `check` naming the key; a correct one
    passes although no Redis runs on that port."""
    endpoints = project / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: redis\n  url: localhost\n  prot: 6379\n")
    assert main(["check", str(project)]) == 1
    out = capsys.readouterr().out
    assert "endpoints.yml: tracker_store.prot: unknown key 'prot'" in out
    endpoints.write_text("tracker_store:\n  type: redis\n  url: localhost\n  port: 1\n")
    assert main(["check", str(project)]) == 0


def test_check_validates_credentials_as_run_reads_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The channel block and its speech blocks are checked as `run` reads them: a bad key
    or provider fails naming it; a missing credentials.yml is only a warning (the shell
    needs none)."""
    credentials = project / "credentials.yml"
    starter = credentials.read_text()
    credentials.write_text(starter.replace("asr: {name: local}", "asr: {name: nope}"))
    assert main(["check", str(project)]) == 1
    assert "twilio_media_streams.asr.name: unknown provider 'nope'" in capsys.readouterr().out
    credentials.write_text(starter.replace("monitor_silence: true", "monitor_silense: true"))
    assert main(["check", str(project)]) == 1
    assert "twilio_media_streams.monitor_silense: unknown key" in capsys.readouterr().out
    credentials.unlink()
    assert main(["check", str(project)]) == 0
    out = capsys.readouterr()
    assert "credentials.yml: not found; `telephonist run` needs it" in out.out
    assert "0 error(s), 1 warning(s)" in out.err


def test_check_finds_a_missing_or_wrong_turn_model(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default turn model, `check` fails as `run` would if its file is missing or
    is not the file this version expects, naming the key and the install command;
    ``turn: {model: none}`` needs no file."""
    assert main(["check", str(project)]) == 0  # installed by scripts/install
    capsys.readouterr()
    wrong = project / "smart-turn.onnx"
    wrong.write_bytes(b"not the model")
    monkeypatch.setattr(smart_turn, "find_model", lambda: wrong)
    assert main(["check", str(project)]) == 1
    out = capsys.readouterr().out
    assert "twilio_media_streams.turn.model:" in out and "expected 2bb02631" in out

    def missing() -> Path:
        raise ConfigError("the Smart Turn model is not installed: pip install ...")

    monkeypatch.setattr(smart_turn, "find_model", missing)
    assert main(["check", str(project)]) == 1
    assert "turn.model: the Smart Turn model is not installed" in capsys.readouterr().out
    credentials = project / "credentials.yml"
    credentials.write_text(credentials.read_text() + "  turn: {model: none}\n")
    assert main(["check", str(project)]) == 0


async def test_shell_script(project: Path) -> None:
    """The shell prints bot text and call actions for typed text, /dtmf and /silence."""
    out: list[str] = []
    script = iter(
        [
            "/dtmf 2",
            "/silence",
            "/silence",
            "/silence",
            "/restart",
            "book an appointment",
            "goodbye",
            "hello",
            "/quit",
        ]
    )
    assert await run_shell(project, script, out.append) == 0
    assert out[1:4] == [
        "bot> Hello, and thanks for calling Acme.",
        "bot> Press 1 or say billing, press 2 or say orders, press 3 or say appointments.",
        "[collect 1 digit]",
    ]
    assert "bot> Please say or key in your five-digit order number, then press hash." in out
    assert "[collect digits until #]" in out
    assert "bot> Hello, are you still there?" in out
    assert out.count("[hang up]") == 2
    assert "bot> Which weekday would you like to come in?" in out
    assert out[-1] == "[the call has ended: /restart to call again, /quit to leave]"


async def test_shell_order_status_runs_the_starters_action_in_process(project: Path) -> None:
    """The starter's order look-up works out of the box: its action runs in-process."""
    out: list[str] = []
    assert await run_shell(project, iter(["/dtmf 2", "/dtmf 12345#"]), out.append) == 0
    assert "bot> I found your order." in out
    assert "bot> Order 12345 is out for delivery." in out


async def test_shell_handoff_prints_transfer(project: Path) -> None:
    """Asking for a person with a transfer number prints the transfer action."""
    out: list[str] = []
    await run_shell(project, iter(["I want to talk to a human"]), out.append, "+15550002222")
    assert "[transfer to +15550002222]" in out


async def test_export_prints_persisted_conversation(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A conversation saved by `shell --persist` is printed by `export CALL_SID`."""
    out: list[str] = []
    await run_shell(project, iter(["/dtmf 3"]), out.append, persist=True)
    call_id = out[0].split()[1].rstrip("]")
    capsys.readouterr()
    assert main(["export", "--project", str(project), "--list"]) == 0
    assert capsys.readouterr().out.split() == [call_id]
    assert main(["export", call_id, "--project", str(project)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["conversation_id"] == call_id
    assert any(e["event"] == "user" and e["text"] == "3" for e in data["events"])
    assert main(["export", "CA-missing", "--project", str(project)]) == 1
