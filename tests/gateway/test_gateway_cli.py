"""`telephonist check` and `telephonist shell` with a Rasa server answering."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from tests.cli.run_process import free_port, run_project, stderr_line_with
from tests.fakes.rasa_server import FakeRasa

from telephonist.cli.shell import run_shell
from telephonist.simulator.caller import TwilioCaller

SECRET = "check-s3cret"


async def telephonist(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the command in a child process; its exit code and its output (both streams)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telephonist",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


def endpoints(project: Path, block: str) -> None:
    """Write a project directory with only endpoints.yml."""
    project.mkdir(exist_ok=True)
    (project / "endpoints.yml").write_text(block)


async def test_check_says_the_rasa_server_answers_and_hides_the_token(tmp_path):
    """A valid block and a reachable server: exit 0, the version and the model are printed;
    the token (from the environment) is sent but never printed."""
    fake = FakeRasa(token=SECRET)
    async with fake.running() as url:
        endpoints(
            tmp_path,
            f"assistant:\n  type: rasa\n  url: {url}\n  token: ${{RASA_TOKEN}}\n",
        )
        code, out = await telephonist("check", str(tmp_path), env={"RASA_TOKEN": SECRET})
    assert code == 0, out
    assert "assistant type rasa: OK" in out
    assert "Hello from Rasa: 3.6.21" in out and "model: fake.tar.gz" in out
    assert fake.tokens_seen == []  # the REST channel was not used, only / and /status
    assert SECRET not in out


async def test_check_reports_a_missing_api_and_an_unreachable_server(tmp_path):
    """Without --enable-api the inspector's limits are explained; nothing listening is an
    error (exit 1)."""
    fake = FakeRasa(api=False)
    async with fake.running() as url:
        code, out = await telephonist("check", str(tmp_path), "--rasa-url", url)
    assert code == 0, out
    assert "HTTP 404 (start Rasa with --enable-api)" in out
    code, out = await telephonist("check", str(tmp_path), "--rasa-url", url)  # now closed
    assert code == 1
    assert "does not answer" in out and "cannot reach" in out


async def test_check_names_the_key_of_a_bad_block(tmp_path):
    """A bad block fails with the file and key, and no token value."""
    endpoints(tmp_path, f"assistant:\n  type: rasa\n  url: http://h/?token={SECRET}\n")
    code, out = await telephonist("check", str(tmp_path))
    assert code == 1
    assert "endpoints.yml: assistant.url: must not carry a query" in out
    assert SECRET not in out


async def test_check_validates_the_channel_in_gateway_mode(tmp_path):
    """With a Rasa server answering, credentials.yml is still checked as `run` reads it."""
    fake = FakeRasa()
    async with fake.running() as url:
        endpoints(tmp_path, f"assistant:\n  type: rasa\n  url: {url}\n")
        (tmp_path / "credentials.yml").write_text(
            "twilio_media_streams:\n  server_url: x\n  asr: {name: local}\n"
            "  tts: {name: local}\n  bogus_key: 1\n"
        )
        code, out = await telephonist("check", str(tmp_path))
    assert code == 1
    assert "Hello from Rasa" in out  # the server was still asked
    assert "twilio_media_streams.bogus_key: unknown key" in out


async def test_shell_chats_with_rasa(tmp_path):
    """Typed lines and /dtmf reach Rasa; the menu, the hang-up and the end are printed."""
    fake = FakeRasa(
        answers={
            "/session_start": [
                {"text": "Hi!", "buttons": [{"title": "Opening hours", "payload": "/hours"}]}
            ],
            "/hours": [{"text": "Nine to five."}],
            "bye": [{"text": "Bye."}, {"custom": {"hangup": True}}],
        }
    )
    printed: list[str] = []
    async with fake.running() as url:
        code = await run_shell(tmp_path, iter(["/dtmf 1", "bye"]), printed.append, rasa_url=url)
    assert code == 0
    assert printed[1:] == [
        "bot> Hi! For Opening hours, press 1.",
        "bot> Nine to five.",
        "bot> Bye.",
        "[hang up]",
    ]
    assert fake.messages() == ["/session_start", "/hours", "bye", "/session_end"]
    assert [b["metadata"]["source"] for b in fake.received[1:3]] == ["dtmf", "typed"]


@pytest.mark.slow
async def test_run_with_rasa_url_answers_calls_from_a_directory_with_only_credentials(tmp_path):
    """`run DIR --rasa-url URL`: no domain, no endpoints file; the banner names the Rasa
    server, and a call's greeting comes from it with the call's metadata."""
    fake = FakeRasa(answers={"/session_start": [{"text": "Hello from Rasa."}]})
    port = free_port()
    (tmp_path / "credentials.yml").write_text(
        f'twilio_media_streams:\n  server_url: "127.0.0.1:{port}"\n'
        "  asr: {name: local}\n  tts: {name: local}\n  vad: {name: energy}\n"
    )
    async with fake.running() as url:
        process = await run_project(tmp_path, port, "--rasa-url", url)
        try:
            async with asyncio.timeout(120):
                banner = await stderr_line_with(process, b"answering calls")
            assert f"the Rasa server at {url}".encode() in banner
            base = f"127.0.0.1:{port}/webhooks/twilio_media_streams"
            caller = TwilioCaller(
                f"http://{base}/webhook", stream_url_override=f"ws://{base}/websocket"
            )
            await caller.dial()
            await caller.connect()
            await fake.wait_for(lambda: fake.answered == ["/session_start"], within=30)
            await caller.wait_until(lambda: len(caller.received_audio) > 8000)  # 1 s of reply
            await caller.hang_up()
            await fake.wait_for(lambda: "/session_end" in fake.messages(), within=30)
        finally:
            process.terminate()
            await process.wait()
    assert fake.received[0]["metadata"]["call_id"] == caller.call_sid
