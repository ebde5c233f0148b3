"""The server `benchmarks/barge_in.py` calls: the embedded engines (Silero VAD, the local
Whisper ASR, the local voice behind the prompt cache, as ``telephonist run`` builds them), an
assistant that greets with a long message, and the channel's ``interruptions`` as given.

``GET /bench/events/{CallSid}`` returns that call's barge-in and ASR events, so the driver can
read the server's own figures (``onset_to_clear_ms``) beside what the caller measured.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from telephonist.call.events import AsrFinal, BargeIn, CallEvent, EventKind
from telephonist.call.settings import CallSettings
from telephonist.config.channel import parse_channel
from telephonist.dialogue.turns import AssistantTurn, BotMessage, SessionStart, UserEvent, UserText
from telephonist.server.app import create_app
from telephonist.server.runtime import Runtime
from telephonist.server.serve import bound_socket, run_on_loop, uvicorn_server
from telephonist.speech.asr.local import LocalASR
from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.tts.cache import CachedTTS
from telephonist.speech.tts.local import LocalTTS
from telephonist.speech.vad.silero import SileroVAD

__all__ = ["GREETING", "REPLY", "BenchAssistant", "serve_forever"]

GREETING = (
    "Thanks for calling the Acme order line. Your order, number four two seven, left our "
    "warehouse this morning, and it will arrive on Tuesday, between nine and five. If you "
    "would like to change the delivery day, say change, or to speak to an agent, say agent."
)
REPLY = "Sure, let me help you with that."
KEPT = {EventKind.BARGE_IN, EventKind.BARGE_IN_RESUMED, EventKind.BARGE_IN_CONFIRMED}


class BenchAssistant:
    """Greets with `GREETING`; answers any words with `REPLY`."""

    async def handle(self, conversation_id: str, event: UserEvent) -> AssistantTurn:
        if isinstance(event, SessionStart):
            return AssistantTurn(messages=(BotMessage(GREETING),))
        if isinstance(event, UserText):
            return AssistantTurn(messages=(BotMessage(REPLY),))
        return AssistantTurn()

    async def close(self) -> None:
        return None


async def _serve(resume_after_ms: int) -> None:
    sock = bound_socket("127.0.0.1", 0)
    block = {
        "server_url": f"127.0.0.1:{sock.getsockname()[1]}",
        "asr": {"name": "local"},
        "tts": {"name": "local"},
        "interruptions": {"resume_after_ms": resume_after_ms},
    }
    channel = parse_channel(block, file="benchmark", environ={})
    tts = CachedTTS(LocalTTS())
    runtime = Runtime(
        channel=channel,
        settings=CallSettings.from_channel(channel, "en"),
        assistant=BenchAssistant(),
        asr=LocalASR(),
        tts=tts,
        vad=SileroVAD(),
    )
    await runtime.asr.warm_up()
    for text in (GREETING, REPLY):  # in the cache before the first call, as a prompt would be
        async for _ in tts.synthesize(text, VoiceSpec(language="en")):
            pass
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def keep(event: CallEvent) -> None:
        if event.kind in KEPT:
            reaction = event.onset_to_clear_ms if isinstance(event, BargeIn) else None
            events[event.call_id].append({"kind": event.kind.value, "onset_to_clear_ms": reaction})
        elif isinstance(event, AsrFinal):
            events[event.call_id].append({"kind": event.kind.value, "text": event.text})

    async def call_events(request: Request) -> JSONResponse:
        return JSONResponse(events.pop(request.path_params["call_sid"], []))

    runtime.events.subscribe(keep)
    app = create_app(runtime)
    app.add_route("/bench/events/{call_sid}", call_events)
    server = uvicorn_server(app)
    print(f"ready {sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])


def serve_forever(resume_after_ms: int) -> None:
    """Serve until terminated; prints ``ready PORT`` once calls can come."""
    run_on_loop(_serve(resume_after_ms), "auto")
