"""End to end with a real Rasa Open Source 3.6 server: a classic project (rules, a story, a
form, buttons and the voice payloads) trained by Rasa, `telephonist run` pointed at it with
only credentials.yml and the ``assistant:`` block, and `telephonist call` phoning it with
real recorded speech and DTMF. What Rasa understood is read back from Rasa's own tracker."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import wave
from pathlib import Path

import httpx
import pytest
from tests.audio_samples import load_prompt
from tests.cli.run_process import free_port, run_project, stderr_line_with
from tests.fakes.twilio_rest import FakeTwilioRest
from tests.gateway.real_rasa import (
    RasaUnavailable,
    rasa_model,
    rasa_venv,
    running_rasa,
)

from telephonist.audio import mulaw
from telephonist.gateway.tracker_state import summarise

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

RASA_TOKEN = "rasa-e2e-s3cret"
TWILIO_TOKEN = "twilio-e2e-token"
ACCOUNT = "AC" + "0" * 32
CREDENTIALS = """twilio_media_streams:
  server_url: "127.0.0.1:{port}"
  asr: {{name: local}}
  tts: {{name: local}}
  twilio_account_sid: "{account}"
  twilio_auth_token: "{token}"
  twilio_api_base: "{rest}"
"""
ENDPOINTS = """assistant:
  type: rasa
  url: "{url}"
  start_message: /greet
  token: ${{RASA_TOKEN}}
"""


@pytest.fixture(scope="module")
def rasa_build() -> tuple[Path, Path]:
    """The cached Rasa virtualenv and the trained test project (built on first use)."""
    try:
        venv = rasa_venv()
        return venv, rasa_model(venv)
    except RasaUnavailable as exc:
        pytest.skip(f"real Rasa unavailable: {exc}")


def prompt_wav(name: str, folder: Path) -> Path:
    """A recorded Asterisk prompt as an 8 kHz WAV file for ``telephonist call --audio``."""
    path = folder / f"{name}.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(mulaw.decode(load_prompt(name).mulaw).tobytes())
    return path


async def call(webhook: str, *steps: str) -> dict:
    """``telephonist call --json`` with ``steps``; its report."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telephonist",
        "call",
        "--json",
        "--no-asr",
        "--speed",
        "3",
        "--reply-timeout",
        "20",
        "--auth-token",
        TWILIO_TOKEN,
        "--insecure-local",
        *steps,
        webhook,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode == 0, err.decode()[-2000:]
    return json.loads(out)


async def tracker(url: str, sender: str) -> dict:
    """Rasa's tracker of one call, with every event."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(
            f"{url}/conversations/{sender}/tracker", params={"token": RASA_TOKEN}
        )
    response.raise_for_status()
    return response.json()


def user_turns(events: list[dict]) -> list[tuple[str, str | None, dict]]:
    """(text, intent, metadata) of every user message Rasa received."""
    return [
        (e["text"], e["parse_data"]["intent"].get("name"), e.get("metadata") or {})
        for e in events
        if e["event"] == "user"
    ]


async def test_a_rasa_assistant_answers_the_phone(rasa_build, tmp_path):
    """Speech and keys reach Rasa as messages with the call's metadata; Rasa's buttons are a
    keypad menu; its form collects digits until #; SSML falls back to text on the local
    TTS; ``hangup`` and ``transfer`` payloads control the call through Twilio's REST API."""
    pytest.importorskip("faster_whisper")
    venv, model = rasa_build
    hello, goodbye = prompt_wav("hello", tmp_path), prompt_wav("goodbye", tmp_path)
    rest = FakeTwilioRest(ACCOUNT, TWILIO_TOKEN)
    async with running_rasa(venv, model, token=RASA_TOKEN) as rasa, rest.running() as rest_url:
        project = tmp_path / "line"
        project.mkdir()
        port = free_port()
        (project / "credentials.yml").write_text(
            CREDENTIALS.format(port=port, account=ACCOUNT, token=TWILIO_TOKEN, rest=rest_url)
        )
        (project / "endpoints.yml").write_text(ENDPOINTS.format(url=rasa.url))
        server = await run_project(project, port, env={**os.environ, "RASA_TOKEN": RASA_TOKEN})
        log = ServerLog()
        try:
            banner = await asyncio.wait_for(stderr_line_with(server, b"answering calls"), 120)
            assert f"the Rasa server at {rasa.url}".encode() in banner
            logging = asyncio.create_task(log.collect(server))
            webhook = f"http://127.0.0.1:{port}/webhooks/twilio_media_streams/webhook"
            first = await call(
                webhook,
                "--audio",
                str(hello),
                "--dtmf",
                "1",
                "--dtmf",
                "1234#",
                "--audio",
                str(goodbye),
                "--wait",  # as a caller does after "bye": the bot hangs up first
                "10",
            )
            second = await call(webhook, "--dtmf", "2")
            for report in (first, second):  # /session_end has reached Rasa
                await log.until("call.ended", report["call_sid"])
            first_tracker = await tracker(rasa.url, first["call_sid"])
            second_tracker = await tracker(rasa.url, second["call_sid"])
        finally:
            server.terminate()
            await server.wait()
        await logging
    output = "\n".join(log.lines)

    assert first["outcome"] == "bot hung up", first
    turns = user_turns(first_tracker["events"])
    texts = [text for text, _, _ in turns]
    intents = [intent for _, intent, _ in turns]
    assert texts[0] == "/greet" and intents[0] == "greet"
    assert intents[1] == "greet"  # "Hello." as the local ASR heard the recording
    assert texts[2:4] == ["/check_order", "1234"]
    assert intents[4] == "goodbye"
    assert texts[5] == "/session_end"
    metadata = [m for _, _, m in turns]
    assert {m["call_id"] for m in metadata} == {first["call_sid"]}
    assert [m["source"] for m in metadata] == ["call", "speech", "dtmf", "dtmf", "speech", "call"]
    assert metadata[2]["button"]["title"] == "Order status"
    assert metadata[0]["direction"] and metadata[0]["user_phone"]
    assert summarise(first_tracker)["slots"] == {"order_number": "1234"}

    assert "For Order status, press 1. For Speak to a person, press 2." in output
    assert "Order 1234 left our warehouse today." in output
    assert "gateway.ssml_spoken_as_text" in output
    assert RASA_TOKEN not in output

    assert user_turns(second_tracker["events"])[1][0] == "/speak_to_person"
    updates = dict(rest.updates)
    assert updates[first["call_sid"]] == {"Status": "completed"}
    assert "+15550100" in updates[second["call_sid"]]["Twiml"]


class ServerLog:
    """The server's log lines, kept as they come."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.changed = asyncio.Event()

    async def collect(self, process: asyncio.subprocess.Process) -> None:
        """Read the server's stderr until it closes."""
        assert process.stderr is not None
        while line := await process.stderr.readline():
            self.lines.append(line.decode(errors="replace").rstrip())
            self.changed.set()

    async def until(self, *parts: str, within: float = 30.0) -> None:
        """Wait for a line containing every one of ``parts``."""
        async with asyncio.timeout(within):
            while not any(all(p in line for p in parts) for line in self.lines):
                self.changed.clear()
                await self.changed.wait()
