"""`telephonist call` as a user runs it: a real process against our real server."""

from __future__ import annotations

import asyncio
import json
import sys
import wave

import numpy as np
import pytest
from tests.audio_samples import load_prompt
from tests.fakes.bad_twilio_server import bad_twilio_app
from tests.fakes.http_app import ServedApp
from tests.server.conftest import serve, silero

from telephonist.call.events import KeyPressed
from telephonist.cli import main
from telephonist.dialogue.turns import UserText

__all__ = ["serve", "silero"]

FAST = ["--speed", "5", "--no-asr", "--reply-timeout", "3"]


def speech_wav(path, rate: int = 16000) -> None:
    """The recorded prompt as a 16-bit WAV at ``rate`` (resampled by the simulator)."""
    from telephonist.audio import mulaw
    from telephonist.audio.resample import float_to_pcm16, resample

    pcm = float_to_pcm16(resample(mulaw.decode(load_prompt("agent-pass").mulaw), 8000, rate))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())


async def telephonist_call(*args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    """Run ``telephonist call ARGS`` in a child process; exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telephonist",
        "call",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_call_prints_json_and_writes_the_recording(serve, tmp_path):
    """--audio, --dtmf, --record and --json: exit 0, a JSON report, a valid stereo WAV."""
    clip, record = tmp_path / "q.wav", tmp_path / "call.wav"
    speech_wav(clip)
    async with serve(transcripts=["where is my order"]) as served:
        ws = served.base_url.replace("http", "ws") + "/webhooks/twilio_media_streams/websocket"
        code, out, err = await telephonist_call(
            *FAST,
            "--audio",
            str(clip),
            "--dtmf",
            "7",
            "--record",
            str(record),
            "--json",
            "--stream-url",
            ws,
            "--from",
            "+4930111",
            served.webhook,
        )
        assert [e.text for e in served.assistant.of_type(UserText)] == ["where is my order", "7"]
        assert [e.digit for e in served.kinds(KeyPressed)] == ["7"]
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] and report["outcome"] == "caller hung up"
    assert [t["caller"] for t in report["turns"]] == ["(call answered)", "[audio q.wav]", "dtmf 7"]
    assert report["turns"][1]["latency_from_speech_end_ms"] > 0
    assert "caller: [audio q.wav]" in err  # the live transcript goes to stderr with --json
    with wave.open(str(record), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        assert wav.getnframes() / 8000 == pytest.approx(report["duration_s"], abs=0.02)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert np.abs(samples[:, 0]).max() > 1000 and np.abs(samples[:, 1]).max() > 1000


async def test_insecure_local_rewrites_the_stream_url(serve):
    """--insecure-local connects to the TwiML's wss:// URL over ws:// and prints the table."""
    async with serve() as served:
        code, out, err = await telephonist_call(
            *FAST, "--insecure-local", "--dtmf", "1", served.webhook
        )
    assert code == 0, err
    assert "webhook answered TwiML: stream wss://" in out
    assert "latency ms" in out and "call caller hung up" in out


async def test_public_url_signs_like_twilio_for_a_local_server(serve):
    """Against a local server whose server_url is a public host, --public-url signs the
    webhook and the stream for that host (as Twilio does) and reaches both locally; signing
    for the local URL is refused."""
    token = "call-command-token"
    async with serve(twilio_auth_token=token, server_url="bot.example.com") as served:
        public = "https://bot.example.com/webhooks/twilio_media_streams/webhook"
        code, _, err = await telephonist_call(
            *FAST, "--auth-token", token, "--public-url", public, "--dtmf", "1", served.webhook
        )
        assert code == 0, err
        assert [e.digit for e in served.kinds(KeyPressed)] == ["1"]
        code, _, err = await telephonist_call(
            *FAST, "--auth-token", token, "--insecure-local", "--dtmf", "1", served.webhook
        )
        assert code == 1 and "HTTP 403" in err


async def test_interactive_lines_become_steps(serve):
    """In --interactive mode a /step line runs that step; an empty line hangs up."""
    async with serve() as served:
        code, out, err = await telephonist_call(
            *FAST,
            "--interactive",
            "--insecure-local",
            served.webhook,
            stdin=b"/dtmf 5\n/wait 0.2\n\n",
        )
        assert [e.digit for e in served.kinds(KeyPressed)] == ["5"]
    assert code == 0, err
    assert "caller: [dtmf 5]" in out


async def test_refused_auth_exits_non_zero(serve):
    """A webhook that keeps answering 401 fails the call with exit code 1."""
    async with serve(username="ann", password="s3cret") as served:
        port = served.base_url.rsplit(":", 1)[1]
        url = f"http://ann:wrong@127.0.0.1:{port}/webhooks/twilio_media_streams/webhook"
        code, _, err = await telephonist_call(*FAST, "--dtmf", "1", url)
    assert code == 1
    assert "HTTP 401" in err


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/text", "webhook answer is not XML"),
        ("/drop", "closed the stream (code 1011) before the bot spoke"),
    ],
)
async def test_no_twiml_or_early_close_exits_non_zero(path, message):
    """No TwiML, or a stream closed before the bot spoke, exits with code 1."""
    async with ServedApp(bad_twilio_app()) as app:
        code, _, err = await telephonist_call(
            *FAST, "--insecure-local", "--dtmf", "1", app.url + path
        )
    assert code == 1
    assert message in err


def test_bad_script_is_a_usage_error(tmp_path, capsys):
    """A bad script line exits 2 naming the file and line, before any call is made."""
    script = tmp_path / "bad.call"
    script.write_text("say hi\nwait forever\n")
    assert main(["call", "--script", str(script), "http://127.0.0.1:9/none"]) == 2
    assert f"{script}: line 2: expected a number of seconds" in capsys.readouterr().err


def test_a_bad_wait_is_a_usage_error(capsys):
    """--wait takes seconds; anything else exits 2 naming the flag, before any call is made."""
    assert main(["call", "--wait", "soon", "http://127.0.0.1:9/none"]) == 2
    assert "--wait takes seconds, got 'soon'" in capsys.readouterr().err


async def test_wait_stays_on_the_line_until_the_bot_hangs_up(serve, tmp_path):
    """After "goodbye" the caller stays on the line (--wait), so the call ends as the bot
    hangs up, well before the wait is over."""
    clip = tmp_path / "bye.wav"
    speech_wav(clip)
    async with serve(transcripts=["goodbye"]) as served:
        code, out, err = await telephonist_call(
            *FAST,
            "--insecure-local",
            "--audio",
            str(clip),
            "--wait",
            "60",
            "--json",
            served.webhook,
        )
    assert code == 0, err
    report = json.loads(out)
    assert report["outcome"] == "bot hung up"
    assert report["duration_s"] < 30


def test_nothing_to_do_is_a_usage_error(capsys):
    """Without any step or --interactive there is nothing to simulate."""
    assert main(["call", "http://127.0.0.1:9/none"]) == 2
    assert "nothing to do" in capsys.readouterr().err


@pytest.mark.slow
async def test_say_is_spoken_with_the_local_tts(serve):
    """--say synthesises the text with the local TTS; the server hears speech and answers."""
    pytest.importorskip("hibari")
    async with serve(transcripts=["check my order"]) as served:
        code, out, err = await telephonist_call(
            *FAST,
            "--json",
            "--insecure-local",
            "--say",
            "I'd like to check my order",
            served.webhook,
        )
        assert [e.text for e in served.assistant.of_type(UserText)] == ["check my order"]
    assert code == 0, err
    assert json.loads(out)["turns"][1]["latency_from_speech_end_ms"] is not None


@pytest.mark.parametrize(("speed", "warned"), [("8", True), ("5", False)])
def test_a_speed_above_the_default_media_rate_is_warned_about(capsys, speed, warned):
    """Above the server's default ``limits.media_rate`` (5x), one line on stderr says frames
    will be dropped once the burst is spent; at 5x or less, nothing."""
    main(["call", "--speed", speed, "--dtmf", "1", "--no-asr", "http://127.0.0.1:9/webhook"])
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "warning:" in line]
    if warned:
        assert len(warnings) == 1 and "--speed 8" in warnings[0]
        assert "limits.media_rate (5x real time)" in warnings[0] and "dropped" in warnings[0]
    else:
        assert warnings == []


def test_unreachable_webhook_exits_non_zero(capsys):
    """Nothing listening at the URL is a failed call (exit 1), not a crash."""
    assert main(["call", "--dtmf", "1", "--no-asr", "http://127.0.0.1:9/webhook"]) == 1
    assert "webhook unreachable" in capsys.readouterr().err


async def test_redirect_to_sends_a_resumed_call_to_another_server():
    """--redirect-to: the stream on A closes, Twilio's redirect goes to B (signed for the
    public URL), the call goes on there; the report gives the silence heard."""
    from tests.simulator.test_twiml_follow import PUBLIC, TOKEN, Instance

    a, b = Instance("A"), Instance("B", then="<Hangup/>", drop=False)
    async with ServedApp(a.app()) as on_a, ServedApp(b.app()) as on_b:
        code, out, err = await telephonist_call(
            *FAST,
            "--json",
            "--auth-token",
            TOKEN,
            "--public-url",
            f"{PUBLIC}/voice",
            "--redirect-to",
            on_b.url,
            "--dtmf",
            "1",
            f"{on_a.url}/voice",
        )
    assert code == 0, err
    report = json.loads(out)
    assert report["outcome"] == "caller hung up (resumed 1x)"
    assert len(report["resume_gaps_ms"]) == 1
    assert [r["signed"] for r in b.requests] == [True] and len(b.starts) == 1
