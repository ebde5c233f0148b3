"""A Telephonist server with zero-latency scripted ASR, TTS and assistant, for measuring what
the server itself adds. Run: ``python benchmarks/scripted_server.py PORT``.

The ASR says "final" on the first all-silence frame after speech (so the turn ends the moment
the caller stops); TTS returns pre-rendered audio at once; the assistant answers instantly.
The VAD is the real default (Silero), so its CPU cost per call is included;
``BENCH_VAD_GATE=off`` scores every window, as on a line whose noise is above
``vad.gate_dbfs`` (the callers send digital silence between utterances).
``BENCH_ASR=local`` uses the embedded Whisper ASR instead (``benchmarks/flood.py``);
``BENCH_ASR=edge`` a zero-latency ASR that answers when the server's VAD (or turn rule) ends
the utterance, as the embedded engine does, so the end of turn is the server's to decide.
The limits are raised far above the load benchmarks' call counts, unless
``BENCH_LIMITS=default``; ``BENCH_LIMITS_JSON='{"media_rate": 2}'`` sets some of them.
``BENCH_GUARD=off`` serves with uvicorn's own HTTP protocol (no request deadline, no
connection cap); ``BENCH_WARNINGS=1`` logs as ``telephonist run`` does
(``benchmarks/abuse.py``). ``BENCH_WORKERS=N`` serves the port from N worker processes the
way ``telephonist run --workers N`` does: one supervisor, ``SO_REUSEPORT`` sockets, a shared
stream-token secret, stream claims in one SQLite file and summed ``/metrics``
(``benchmarks/workers.py``). Like ``telephonist run``, it serves with a settled heap
(``telephonist.server.heap``); ``BENCH_GC=plain`` keeps Python's default collector.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import cast

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse

from telephonist.audio import mulaw
from telephonist.call.events import BargeIn, CallEvent
from telephonist.call.settings import CallSettings
from telephonist.cli.run_workers import SECRET_VARIABLE, WORKERS, Worker
from telephonist.config.channel import parse_channel
from telephonist.dialogue.turns import AssistantTurn, BotMessage, SessionStart, UserEvent, UserText
from telephonist.server.app import create_app
from telephonist.server.event_log import EventLogger
from telephonist.server.heap import settled_heap
from telephonist.server.runtime import Runtime
from telephonist.server.serve import Loop, bound_socket, run_on_loop, uvicorn_server
from telephonist.server.workers import Supervisor, reuseport_sockets
from telephonist.speech.asr.base import ASRCapabilities, ASREvent, ASRProvider, Final
from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.vad.silero import DEFAULT_GATE_DBFS, SileroVAD
from telephonist.stores import SQLiteStore

REPLY_SECONDS = 4.0


def tone(seconds: float) -> bytes:
    """Audible mu-law audio."""
    t = np.arange(int(seconds * 8000)) / 8000
    return mulaw.encode((np.sin(2 * np.pi * 300 * t) * 6000).astype(np.int16))


class ZeroASRStream:
    """Final the instant a silent frame follows speech."""

    def __init__(self) -> None:
        self._events: asyncio.Queue[ASREvent | None] = asyncio.Queue()
        self._in_speech = False

    async def send(self, audio: bytes) -> None:
        silent = audio.count(0xFF) == len(audio)
        if not silent:
            self._in_speech = True
        elif self._in_speech:
            self._in_speech = False
            self._events.put_nowait(Final("hello", 1.0))

    async def on_vad(self, speaking: bool) -> None:
        return None

    async def on_pause(self, paused: bool) -> None:
        return None

    async def events(self) -> AsyncIterator[ASREvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def close(self) -> None:
        self._events.put_nowait(None)


class EdgeASRStream(ZeroASRStream):
    """Final the instant our VAD ends the utterance (as the local engine cuts at its edges,
    with no transcription time): turns end when the server's own end-of-turn rule says."""

    async def send(self, audio: bytes) -> None:
        return None

    async def on_vad(self, speaking: bool) -> None:
        if not speaking:
            self._events.put_nowait(Final("hello", 1.0))


class ZeroASR:
    capabilities = ASRCapabilities()

    async def warm_up(self) -> None:
        return None

    async def open_stream(self, language: str) -> ZeroASRStream:
        return ZeroASRStream()

    async def aclose(self) -> None:
        return None


class EdgeASR(ZeroASR):
    capabilities = ASRCapabilities(cuts_at_vad_edges=True)

    async def open_stream(self, language: str) -> EdgeASRStream:
        return EdgeASRStream()


class ZeroTTS:
    """Pre-rendered audio, yielded at once in 100 ms chunks."""

    def __init__(self) -> None:
        self._audio = {"greeting": tone(1.0), "reply": tone(REPLY_SECONDS)}

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        audio = self._audio["greeting" if text.startswith("Hello") else "reply"]
        for offset in range(0, len(audio), 800):
            yield audio[offset : offset + 800]

    async def warm_up(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class InstantAssistant:
    async def handle(self, conversation_id: str, event: UserEvent) -> AssistantTurn:
        if isinstance(event, SessionStart):
            return AssistantTurn(messages=(BotMessage("Hello"),))
        if isinstance(event, UserText):
            return AssistantTurn(messages=(BotMessage("a long reply"),))
        return AssistantTurn()

    async def close(self) -> None:
        return None


async def main(port: int) -> None:
    worker = Worker.from_environ(os.environ)
    sock = worker.listening() if worker else bound_socket("127.0.0.1", port)
    block: dict[str, object] = {
        "server_url": f"127.0.0.1:{sock.getsockname()[1]}",
        "asr": {"name": "zero"},
        "tts": {"name": "zero"},
    }
    store = None
    if worker:  # what the workers of one run share
        block["stream_token_secret"] = os.environ[SECRET_VARIABLE]
        block["resume"] = False
        store = SQLiteStore(Path(os.environ["BENCH_CLAIMS"]))
    default_limits = os.environ.get("BENCH_LIMITS") == "default"
    if importlib.util.find_spec("telephonist.config.limits") and not default_limits:
        limits = {"max_calls": 2000, "max_connections": 4000}  # absent in old checkouts
        limits.update(json.loads(os.environ.get("BENCH_LIMITS_JSON", "{}")))
        block["limits"] = limits
    if os.environ.get("BENCH_RECORDING"):  # record every call (WAV + transcript) here
        block["recording"] = {"folder": os.environ["BENCH_RECORDING"], "max_size_mb": 0}
    turn = os.environ.get("BENCH_TURN", "none")
    if importlib.util.find_spec("telephonist.turn"):  # absent in old checkouts
        block["turn"] = {"model": turn, **json.loads(os.environ.get("BENCH_TURN_JSON", "{}"))}
    channel = parse_channel(block, file="benchmark", environ={})
    scorer = None
    if turn == "smart-turn":  # every call's pauses judged by the model, as `run` does
        from telephonist.turn.scorer import TurnBatcher
        from telephonist.turn.smart_turn import SmartTurnModel, find_model

        scorer = TurnBatcher(SmartTurnModel(find_model()), max_cpu=channel.turn.max_cpu)
        await scorer.warm_up()
    asr: ASRProvider = EdgeASR() if os.environ.get("BENCH_ASR") == "edge" else ZeroASR()
    if os.environ.get("BENCH_ASR") == "local":
        from telephonist.speech.asr.local import LocalASR

        asr = LocalASR()
        await asr.warm_up()
    gate = None if os.environ.get("BENCH_VAD_GATE") == "off" else DEFAULT_GATE_DBFS
    runtime = Runtime(
        channel=channel,
        settings=CallSettings.from_channel(channel, "en"),
        assistant=InstantAssistant(),
        asr=asr,
        tts=ZeroTTS(),
        vad=SileroVAD(gate_dbfs=gate),
        batch_vad=os.environ.get("BENCH_VAD") != "inline",
        claim=store.claim_once if store else None,
        claimed=store.claimed if store else None,
    )
    if scorer is not None:
        runtime.turn_scorer = scorer
    if os.environ.get("BENCH_LOG"):  # every call event on stderr, for looking into outliers
        logging.basicConfig(level=logging.DEBUG, format="%(relativeCreated)8.0f %(message)s")
        runtime.events.subscribe(EventLogger())
    elif os.environ.get("BENCH_WARNINGS"):  # what `telephonist run` logs
        from telephonist.cli.logs import configure_logging

        configure_logging("INFO", "text")
        runtime.events.subscribe(EventLogger())
    reactions: list[float] = []

    def collect(event: CallEvent) -> None:
        if isinstance(event, BargeIn) and event.onset_to_clear_ms is not None:
            reactions.append(event.onset_to_clear_ms)

    async def barge_ins(request: Request) -> JSONResponse:
        """The server's own barge-in reactions (VAD-dated onset → clear) since the last ask."""
        taken = list(reactions)
        reactions.clear()
        return JSONResponse(taken)

    runtime.events.subscribe(collect)
    app = create_app(runtime)
    app.add_route("/bench/barge-ins", barge_ins)
    server = uvicorn_server(app, runtime=runtime)
    if os.environ.get("BENCH_GUARD") == "off":
        server.config.http = "httptools"
    if worker:
        worker.ready("ready", server)
    else:
        print(f"ready {sock.getsockname()[1]}", flush=True)
    plain = os.environ.get("BENCH_GC") == "plain"
    async with contextlib.nullcontext() if plain else settled_heap():  # as `run` serves
        await server.serve(sockets=[sock])


def supervise(port: int, count: int) -> None:
    """Serve ``port`` from ``count`` workers, as ``telephonist run --workers`` does."""
    shared = tempfile.mkdtemp(prefix="bench-workers-")
    sockets = reuseport_sockets("127.0.0.1", port, count)
    env = {
        **os.environ,
        SECRET_VARIABLE: secrets.token_hex(32),
        WORKERS: str(count),
        "PROMETHEUS_MULTIPROC_DIR": shared,
        "BENCH_CLAIMS": f"{shared}/claims.sqlite3",
    }
    env.pop("BENCH_WORKERS")
    command = [sys.executable, __file__, str(sockets[0].getsockname()[1])]
    supervisor = Supervisor(command, sockets, env)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, supervisor.handle_signal)
        await supervisor.start()
        print(f"ready {sockets[0].getsockname()[1]} pids {supervisor.pids()}", flush=True)
        await supervisor.serve()

    try:
        asyncio.run(run())
    finally:
        supervisor.close()
        shutil.rmtree(shared, ignore_errors=True)


if __name__ == "__main__":
    loop = os.environ.get("BENCH_LOOP", "auto")
    assert loop in ("auto", "uvloop", "asyncio"), f"BENCH_LOOP={loop!r}"
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    workers = int(os.environ.get("BENCH_WORKERS", "1"))
    if workers > 1 and Worker.from_environ(os.environ) is None:
        supervise(port, workers)
    else:
        run_on_loop(main(port), cast(Loop, loop))
