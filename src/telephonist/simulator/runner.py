"""`SimulatedCall`: dial, connect, run the caller's steps on a live line, report.

Speech in and out goes through two small seams, so the simulator needs no speech engine of
its own: a `Voice` turns text into caller audio (the command line plugs in the local TTS) and
a `Transcriber` turns each bot utterance the caller heard into text (the local ASR). A plain
Twilio caller cannot see the server's event feed, so the bot's words in the transcript are
always what the ASR made of the audio, never what the server meant to say.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from telephonist.simulator.caller import CallFailed, TwilioCaller
from telephonist.simulator.phone import BotUtterance, Phone, Ticker
from telephonist.simulator.recording import read_wav_mulaw
from telephonist.simulator.report import CallReport
from telephonist.simulator.script import Audio, BargeInAfter, Dtmf, HangUp, Say, Step, Wait

__all__ = ["SimulatedCall", "Transcriber", "Voice"]

NORMAL_CLOSE = (1000, 1001)


class Voice(Protocol):
    """Text → the caller's audio (mu-law 8 kHz)."""

    async def speak(self, text: str) -> bytes: ...


class Transcriber(Protocol):
    """Bot audio (mu-law 8 kHz) → text, or None when nothing was recognised."""

    async def transcribe(self, mulaw: bytes) -> str | None: ...


@dataclass
class SimulatedCall:
    """One call driven by a list (or a live stream) of steps."""

    caller: TwilioCaller
    voice: Voice | None = None
    transcriber: Transcriber | None = None
    record_to: Path | None = None
    """Write the stereo recording (caller left, bot right) here."""
    speed: float = 1.0
    reply_timeout_s: float = 10.0
    settle_s: float = 0.6
    insecure_local: bool = False
    """Connect to the TwiML's ``wss://`` stream URL over plain ``ws://`` (a local server)."""
    echo: Callable[[str], None] = lambda line: None
    """Receives the live transcript, line by line."""

    def __post_init__(self) -> None:
        self._transcriptions: list[asyncio.Task[None]] = []

    async def prepare(self, steps: Iterable[Step]) -> dict[Step, bytes]:
        """Synthesise every ``say`` and load every ``audio`` before dialling."""
        audio: dict[Step, bytes] = {}
        for step in steps:
            if step not in audio:
                prepared = await self._audio_of(step)
                if prepared is not None:
                    audio[step] = prepared
        return audio

    async def run(self, steps: Iterable[Step] | AsyncIterable[Step]) -> CallReport:
        """Make the call; never raises for a failed call (the report says what failed)."""
        prepared: dict[Step, bytes] = {}
        if not isinstance(steps, AsyncIterable):
            steps = list(steps)
            prepared = await self.prepare(steps)
        report = CallReport(
            self.caller.webhook_url, self.caller.call_sid, ok=False, outcome="not connected"
        )
        report.bot_text_source = "local ASR of the bot audio" if self.transcriber else "none"
        self.caller.insecure_local = self.caller.insecure_local or self.insecure_local
        try:
            twiml = await self.caller.dial()
            self.echo(f"webhook answered TwiML: stream {twiml.stream_url}")
            phone = Phone(
                self.caller,
                record=self.record_to is not None,
                settle_s=self.settle_s,
                on_utterance=self._heard,
            )
            await self.caller.connect()
        except CallFailed as exc:
            report.outcome = f"failed: {exc}"
            return report
        ticker = Ticker(speed=self.speed)
        ticker.add(phone)
        stop = asyncio.Event()
        ticking = asyncio.create_task(ticker.run(stop))
        try:
            await self._perform(phone, _aiter(steps), prepared)
            if not phone.closed:
                await phone.wait_quiet(self.reply_timeout_s)
                await phone.hang_up()
        finally:
            stop.set()
            await ticking
            phone.finish()
            await self.caller.close()
        await asyncio.gather(*self._transcriptions)
        return self._report(report, phone)

    async def _perform(
        self, phone: Phone, steps: AsyncIterator[Step], prepared: dict[Step, bytes]
    ) -> None:
        barge_after: float | None = None
        async for step in steps:
            if phone.closed:
                break
            if isinstance(step, BargeInAfter):
                barge_after = step.seconds
            elif isinstance(step, Say | Audio):
                audio = prepared.get(step) or await self._audio_of(step) or b""
                if barge_after is None:
                    await phone.wait_quiet(self.reply_timeout_s)
                else:
                    await phone.wait_bot_heard(barge_after, self.reply_timeout_s)
                barge_after = None
                label = step.text if isinstance(step, Say) else f"[audio {step.path.name}]"
                self.echo(f"{phone.now():7.2f}s  caller: {label}")
                await phone.say(audio, label)
            elif isinstance(step, Dtmf):
                await phone.wait_quiet(self.reply_timeout_s)
                self.echo(f"{phone.now():7.2f}s  caller: [dtmf {step.digits}]")
                await phone.press(step.digits)
            elif isinstance(step, Wait):
                if step.seconds is None:
                    await phone.wait_quiet(self.reply_timeout_s)
                else:
                    await phone.pause(step.seconds)
            elif isinstance(step, HangUp):
                self.echo(f"{phone.now():7.2f}s  caller hangs up")
                await phone.hang_up()
            else:  # Silence
                await phone.pause(step.seconds)

    async def _audio_of(self, step: Step) -> bytes | None:
        if isinstance(step, Say):
            if self.voice is None:
                raise CallFailed("'say' needs a voice (the local TTS)")
            return await self.voice.speak(step.text)
        if isinstance(step, Audio):
            return await asyncio.to_thread(read_wav_mulaw, step.path)
        return None

    def _heard(self, utterance: BotUtterance) -> None:
        line = f"{utterance.started_at:7.2f}s  bot:"
        cut = " [cut off by the caller]" if utterance.cleared else ""
        if self.transcriber is None or not utterance.audio:
            self.echo(f"{line} [{utterance.heard_ms / 1000:.1f} s of audio]{cut}")
            return

        async def transcribe(transcriber: Transcriber) -> None:
            utterance.text = await transcriber.transcribe(bytes(utterance.audio)) or ""
            self.echo(f"{line} {utterance.text or '(nothing recognised)'}{cut}")

        self._transcriptions.append(asyncio.create_task(transcribe(self.transcriber)))

    def _report(self, report: CallReport, phone: Phone) -> CallReport:
        report.duration_s = phone.ticks * 0.02
        report.turns, report.utterances = phone.turns, phone.utterances
        report.late_frames = phone.late_frames
        report.resume_gaps_ms = self.caller.resume_gaps_ms()
        code = self.caller.close_code
        if phone.hung_up:
            report.ok, report.outcome = True, "caller hung up"
        elif self.caller.closed_by_server and code in NORMAL_CLOSE and phone.utterances:
            report.ok, report.outcome = True, "bot hung up"
        else:
            heard = "after" if phone.utterances else "before"
            report.outcome = (
                f"failed: the server closed the stream (code {code}) {heard} the bot spoke"
            )
        if len(self.caller.legs) > 1:
            report.outcome += f" (resumed {len(self.caller.legs) - 1}x)"
        if self.record_to is not None and phone.recording is not None:
            phone.recording.write(self.record_to)
            report.recording = str(self.record_to)
        return report


async def _aiter(steps: Iterable[Step] | AsyncIterable[Step]) -> AsyncIterator[Step]:
    if isinstance(steps, AsyncIterable):
        async for step in steps:
            yield step
    else:
        for step in steps:
            yield step
