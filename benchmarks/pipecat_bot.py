"""A Pipecat phone bot for ``cloud_vs_pipecat.py``: Twilio Media Streams in, Deepgram ASR,
an assistant that answers at once, Cartesia TTS, over the same local fakes Telephonist uses.

Runs in its own venv with ``pipecat-ai[deepgram,cartesia,silero,websocket]==1.14.0`` (the
benchmark builds it), never in the project's: it does not import telephonist, and Pipecat is
used only as a library. It is a FastAPI app: ``POST /webhook`` answers the voice webhook with
``<Connect><Stream>``, ``/ws`` is the media stream, ``GET /health`` says it is up.

What is set, and why (everything else is Pipecat 1.14.0's default):

* ``DeepgramSTTService(api_key, base_url=<fake>)``: pointed at the fake; its defaults otherwise
  (``linear16`` at the pipeline's input rate, interim results, no ``endpointing`` in
  the query so Deepgram's own 10 ms applies, ``Finalize`` when the VAD hears the end of speech);
* ``CartesiaTTSService(api_key, url=<fake>, settings=Settings(voice=...))``: pointed at the
  fake, with a voice id (Pipecat has no default voice); ``pcm_s16le`` at the pipeline's output
  rate, its default;
* ``PipelineParams(audio_in_sample_rate=8000, audio_out_sample_rate=8000)`` (``--rates
  twilio``, the default here): what Pipecat's own Twilio starter sets, so nothing is resampled.
  ``--rates default`` keeps ``PipelineParams()`` (16 kHz in, 24 kHz out): the serializer then
  resamples both ways with a streaming soxr resampler that hands audio on in blocks of about
  0.1 s, which delays what the VAD, Deepgram and the caller get;
* ``TwilioFrameSerializer(..., params=InputParams(auto_hang_up=False))``: there is no Twilio
  REST API to hang up through (the simulated caller hangs up itself);
* ``LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())``: Pipecat has no VAD unless
  one is given; Silero with its default parameters (stop after 0.2 s of quiet) is what
  Pipecat's own examples pass. The end-of-turn rule is left to Pipecat: ``UserTurnStrategies``
  defaults to a VAD or transcription start and ``TurnAnalyzerUserTurnStopStrategy`` with
  ``LocalSmartTurnAnalyzerV3`` (Smart Turn v3.2 on CPU), which waits for the model's
  "complete" and then a finalized transcript (or Deepgram's p99 time-to-final, 0.35 s);
* ``ScriptedReply`` stands in for the LLM: each user turn is answered at once with the same
  sentence Telephonist's fake assistant says, so both sides synthesise the same text;
* a greeting (``TTSSpeakFrame``) when the stream opens, as Telephonist's assistant greets;
* loguru at WARNING (``--log-level``), to stderr: debug logging per frame would cost CPU the
  other side does not spend.

Usage (by the benchmark)::

    PIPECAT_VENV/bin/python benchmarks/pipecat_bot.py --port 8765 \\
        --deepgram-url ws://127.0.0.1:PORT --cartesia-url ws://127.0.0.1:PORT [--rates default]
"""

# mypy: ignore-errors
# (run by the Pipecat venv; the project's venv, which mypy checks with, has no pipecat)

from __future__ import annotations

import argparse
import os
import sys

import uvicorn
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import PlainTextResponse, Response
from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSSpeakFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)
from pipecat.workers.runner import WorkerRunner

GREETING = "Hello, how can I help?"
REPLY = "Sure, let me help you with that."
"""The same texts as the fake Rasa behind Telephonist (``turn_taking_server.py``)."""
VOICE = "f786b574-daa5-4673-aa0c-cbe3e8534c02"


class ScriptedReply(FrameProcessor):
    """The LLM's place in the pipeline: every user turn's context gets ``REPLY`` at once."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            if not frame.speculation:
                await self.push_frame(LLMFullResponseStartFrame())
                await self.push_frame(LLMTextFrame(REPLY))
                await self.push_frame(LLMFullResponseEndFrame())
            return
        await self.push_frame(frame, direction)


RATES = {
    "twilio": PipelineParams(audio_in_sample_rate=8000, audio_out_sample_rate=8000),
    "default": PipelineParams(),
}


def app(deepgram_url: str, cartesia_url: str, port: int, rates: str) -> FastAPI:
    """The webhook, the media stream and a health check."""
    api = FastAPI()

    @api.get("/health")
    async def health() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @api.post("/webhook")
    async def webhook(request: Request) -> Response:
        twiml = (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
            f'<Stream url="wss://127.0.0.1:{port}/ws"/></Connect></Response>'
        )
        return Response(twiml, media_type="application/xml")

    @api.websocket("/ws")
    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        _, call = await parse_telephony_websocket(websocket)
        await run_call(
            websocket, call["stream_id"], call["call_id"], deepgram_url, cartesia_url, rates
        )

    return api


async def run_call(
    websocket: WebSocket,
    stream_sid: str,
    call_sid: str,
    deepgram_url: str,
    cartesia_url: str,
    rates: str,
) -> None:
    """One call's pipeline, until the caller hangs up."""
    serializer = TwilioFrameSerializer(
        stream_sid=stream_sid,
        call_sid=call_sid,
        params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
    )
    transport = FastAPIWebsocketTransport(
        websocket=websocket,
        params=FastAPIWebsocketParams(
            audio_in_enabled=True, audio_out_enabled=True, serializer=serializer
        ),
    )
    stt = DeepgramSTTService(api_key=os.environ["DEEPGRAM_API_KEY"], base_url=deepgram_url)
    tts = CartesiaTTSService(
        api_key=os.environ["CARTESIA_API_KEY"],
        url=f"{cartesia_url}/tts/websocket",
        settings=CartesiaTTSService.Settings(voice=VOICE),
    )
    aggregators = LLMContextAggregatorPair(
        LLMContext(), user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())
    )
    pipeline = Pipeline(
        [
            transport.input(),
            stt,
            aggregators.user(),
            ScriptedReply(),
            tts,
            transport.output(),
            aggregators.assistant(),
        ]
    )
    worker = PipelineWorker(pipeline, params=RATES[rates].model_copy())

    @transport.event_handler("on_client_connected")
    async def greet(transport: FastAPIWebsocketTransport, client: WebSocket) -> None:
        await worker.queue_frames([TTSSpeakFrame(GREETING)])

    @transport.event_handler("on_client_disconnected")
    async def gone(transport: FastAPIWebsocketTransport, client: WebSocket) -> None:
        await worker.cancel()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await runner.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deepgram-url", required=True, help="the fake Deepgram, ws://host:port")
    parser.add_argument("--cartesia-url", required=True, help="the fake Cartesia, ws://host:port")
    parser.add_argument("--log-level", default="WARNING", help="loguru level (default WARNING)")
    parser.add_argument(
        "--rates",
        choices=sorted(RATES),
        default="twilio",
        help="pipeline sample rates: twilio (8 kHz both ways, default) or Pipecat's defaults",
    )
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level=args.log_level)
    uvicorn.run(
        app(args.deepgram_url, args.cartesia_url, args.port, args.rates),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
