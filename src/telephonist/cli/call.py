"""`telephonist call URL`: phone a Media Streams server the way Twilio would, without a phone.

The caller's words are synthesised with the local TTS; the bot's words in the transcript are
the local ASR's reading of the audio the caller heard (a Twilio caller sees no server events).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from telephonist.config.limits import Limits
from telephonist.errors import ConfigError, TelephonistError

__all__ = ["add_parser"]

EXAMPLE = "http://localhost:5005/webhooks/twilio_media_streams/webhook"


class _StepAction(argparse.Action):
    """Collect --say/--audio/--dtmf/--wait in command-line order into ``args.steps``."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        steps = list(getattr(namespace, "steps", None) or [])
        steps.append((self.dest, str(values)))
        namespace.steps = steps


def add_parser(subparsers: Any) -> None:
    """Register ``call``."""
    parser = subparsers.add_parser(
        "call",
        help="call a voice bot as Twilio would (simulated phone call)",
        description="Act as Twilio towards a Media Streams server: POST the voice webhook, "
        "open the <Stream> websocket, speak, press keys, play the bot's audio in "
        "real time with mark echoes, follow the TwiML after <Connect> when the stream "
        "closes (<Redirect>, <Hangup/>), then print the transcript and per-turn "
        "latencies. Exit code 1 when the call fails.",
        epilog=f'example: telephonist call --say "I\'d like to check my order" {EXAMPLE}',
    )
    parser.add_argument("url", help="the voice webhook URL (user:pass@host for Basic auth)")
    parser.set_defaults(steps=[])
    group = parser.add_argument_group("what the caller does (in the order given)")
    group.add_argument(
        "--say", action=_StepAction, metavar="TEXT", help="speak TEXT (local TTS); repeatable"
    )
    group.add_argument(
        "--audio",
        action=_StepAction,
        metavar="FILE.wav",
        help="play a WAV file (any rate); repeatable",
    )
    group.add_argument("--dtmf", action=_StepAction, metavar="KEYS", help="press keys, e.g. 1234#")
    group.add_argument(
        "--wait",
        action=_StepAction,
        metavar="S",
        help="stay on the line S seconds (the bot may hang up meanwhile), e.g. after a goodbye",
    )
    group.add_argument(
        "--script",
        type=Path,
        metavar="FILE",
        help="steps from a file: say, audio, dtmf, wait [S], silence S, barge_in_after S, hangup",
    )
    group.add_argument(
        "--interactive",
        action="store_true",
        help="speak each line typed (a line starting with / is a script step, "
        "e.g. /dtmf 12#); end with an empty line or Ctrl-D",
    )
    twilio = parser.add_argument_group("acting as Twilio")
    twilio.add_argument(
        "--auth-token",
        default=os.environ.get("TWILIO_AUTH_TOKEN"),
        help="sign requests with X-Twilio-Signature (default: $TWILIO_AUTH_TOKEN)",
    )
    twilio.add_argument(
        "--public-url",
        metavar="URL",
        help="the webhook URL as configured at Twilio (https://HOST/...), when the URL "
        "called reaches the server another way (http://localhost:5005/...): requests are "
        "signed for it, as Twilio signs them, and its stream is opened on the local server",
    )
    twilio.add_argument(
        "--stream-url",
        metavar="URL",
        help="connect the media stream here instead of the TwiML's URL "
        "(the signature still covers the TwiML's URL)",
    )
    twilio.add_argument(
        "--redirect-to",
        metavar="URL",
        help="send <Redirect> requests (a resumed call's, after its stream is lost) to this "
        "server (http://host:port) instead of the one the TwiML names, as a load balancer "
        "may send them to another instance; signed for the URL Twilio would request",
    )
    twilio.add_argument(
        "--insecure-local",
        action="store_true",
        help="connect to the TwiML's wss:// stream URL over plain ws://",
    )
    twilio.add_argument("--from", dest="caller", default="+15550100001", help="caller number")
    twilio.add_argument("--to", dest="callee", default="+15550100002", help="called number")
    output = parser.add_argument_group("output")
    output.add_argument(
        "--record",
        type=Path,
        metavar="OUT.wav",
        help="write the call as a stereo WAV (caller left, bot right)",
    )
    output.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON on stdout (transcript goes to stderr)",
    )
    output.add_argument(
        "--no-asr", action="store_true", help="do not transcribe the bot's audio (faster start)"
    )
    output.add_argument(
        "--reply-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="how long to wait for the bot to answer a turn (default 10)",
    )
    output.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="run the line X times faster than real time (default 1; for tests "
        "of servers that do not depend on wall-clock time). Above 5, a server with the default "
        "limits.media_rate (5) drops the caller's frames once its limits.media_burst "
        "(10 s of audio) is spent",
    )
    parser.set_defaults(func=call)


def call(args: argparse.Namespace) -> int:
    """Make the call; 0 when it went through, 1 when it failed, 2 for bad input."""
    from telephonist.simulator.script import dtmf_step, read_script

    try:
        steps = [_flag_step(kind, value, dtmf_step) for kind, value in args.steps]
        if args.script is not None:
            steps += read_script(args.script)
    except ConfigError as exc:
        print(f"telephonist call: {exc}", file=sys.stderr)
        return 2
    if not steps and not args.interactive:
        print(
            "telephonist call: nothing to do; give --say, --audio, --dtmf, --wait, --script or "
            "--interactive",
            file=sys.stderr,
        )
        return 2
    if args.speed > Limits.media_rate:
        print(
            f"telephonist call: warning: --speed {args.speed:g} is above the server's default "
            f"limits.media_rate ({Limits.media_rate:g}x real time); past its "
            f"limits.media_burst ({Limits.media_burst:g} s of audio), frames are dropped",
            file=sys.stderr,
        )
    out = sys.stderr if args.json else sys.stdout
    try:
        report = asyncio.run(_run(args, steps, lambda line: print(line, file=out, flush=True)))
    except TelephonistError as exc:
        print(f"telephonist call: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(
            f"\n{report.table()}\n\nbot text: {report.bot_text_source}; call "
            f"{report.outcome} after {report.duration_s:.1f} s"
            + (f"; recording {report.recording}" if report.recording else "")
        )
    if not report.ok:
        print(f"telephonist call: {report.outcome}", file=sys.stderr)
    return 0 if report.ok else 1


def _flag_step(kind: str, value: str, dtmf_step: Callable[..., Any]) -> Any:
    from telephonist.simulator.script import Audio, Say, Wait

    if kind == "say":
        return Say(value)
    if kind == "audio":
        return Audio(Path(value))
    if kind == "wait":
        try:
            seconds = float(value)
        except ValueError:
            raise ConfigError(f"--wait takes seconds, got {value!r}") from None
        if not 0 <= seconds <= 3600:
            raise ConfigError(f"--wait takes 0 to 3600 seconds, got {value}")
        return Wait(seconds)
    return dtmf_step(value)


async def _run(args: argparse.Namespace, steps: list[Any], echo: Callable[[str], None]) -> Any:
    from telephonist.simulator.caller import TwilioCaller
    from telephonist.simulator.runner import SimulatedCall
    from telephonist.simulator.script import Say

    needs_voice = args.interactive or any(isinstance(step, Say) for step in steps)
    voice = LocalVoice() if needs_voice else None
    transcriber = None if args.no_asr else LocalTranscriber.create(echo)
    caller = TwilioCaller(
        args.url,
        auth_token=args.auth_token,
        stream_url_override=args.stream_url,
        public_url=args.public_url,
        redirect_url=args.redirect_to,
        caller=args.caller,
        callee=args.callee,
    )
    simulated = SimulatedCall(
        caller,
        voice=voice,
        transcriber=transcriber,
        record_to=args.record,
        reply_timeout_s=args.reply_timeout,
        speed=args.speed,
        insecure_local=args.insecure_local,
        echo=echo,
    )
    if args.interactive:
        prepared = await simulated.prepare(steps)
        return await simulated.run(_typed(steps, prepared, echo))
    return await simulated.run(steps)


async def _typed(
    first: list[Any],
    prepared: object,
    echo: Callable[[str], None],
) -> AsyncIterator[Any]:
    """The command-line steps, then one ``say`` per typed line (``/step`` for script steps)."""
    from telephonist.simulator.script import Say, parse_line

    for step in first:
        yield step
    echo("type what the caller says (empty line or Ctrl-D hangs up)")
    while line := (await asyncio.to_thread(sys.stdin.readline)).strip():
        if line.startswith("/"):
            try:
                step = parse_line(line[1:], file="input", number=1, base=Path.cwd())
            except ConfigError as exc:
                echo(str(exc))
                continue
            if step is not None:
                yield step
        else:
            yield Say(line)


class LocalVoice:
    """The caller's voice: the local TTS (loaded on first use)."""

    def __init__(self) -> None:
        self._tts: Any = None

    async def speak(self, text: str) -> bytes:
        """Synthesise ``text`` as mu-law 8 kHz."""
        from telephonist.speech.tts.base import VoiceSpec

        if self._tts is None:
            self._tts = await asyncio.to_thread(_build, "tts")
        audio = bytearray()
        async for chunk in self._tts.synthesize(text, VoiceSpec()):
            audio += chunk
        return bytes(audio)


class LocalTranscriber:
    """The bot's words: the local ASR of each utterance the caller heard."""

    def __init__(self, asr: Any) -> None:
        self._asr = asr
        self._loading = asyncio.get_running_loop().create_task(asr.warm_up())

    @classmethod
    def create(cls, echo: Callable[[str], None]) -> LocalTranscriber | None:
        """The local ASR, or None (said on ``echo``) when it is not installed."""
        try:
            return cls(_build("asr"))
        except TelephonistError as exc:
            echo(f"(bot audio will not be transcribed: {exc})")
            return None

    async def transcribe(self, mulaw: bytes) -> str | None:
        """Text of one utterance."""
        await self._loading
        final = await self._asr.transcribe_async(mulaw, "en")
        return None if final is None else str(final.text)


def _build(kind: str) -> Any:
    from telephonist.speech.registry import ProviderContext, build_asr, build_tts

    context = ProviderContext(file="telephonist call", key=kind, environ=os.environ)
    build = build_tts if kind == "tts" else build_asr
    return build({"name": "local"}, context)
