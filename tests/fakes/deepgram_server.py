"""A local Deepgram live-transcription server (``/v1/listen``) over a real websocket.

It checks what Deepgram checks (``Authorization: Token <key>``, ``encoding=mulaw`` with
``sample_rate=8000`` or ``encoding=linear16`` with any ``sample_rate``, a ``model``) and answers
like Deepgram: ``SpeechStarted``, interim ``Results``, ``is_final`` segments every
``final_every`` words, ``speech_final`` after ``endpointing`` ms of silence (Deepgram's default,
10 ms, when the query leaves ``endpointing`` out; ``false`` turns it off), ``UtteranceEnd`` after
``utterance_end_ms``, a ``from_finalize`` flush on ``Finalize``, last results + ``Metadata`` +
close 1000 on ``CloseStream``, and close 1011 ``NET-0001`` when neither audio nor ``KeepAlive``
arrives for ``idle_timeout`` seconds.

What it "hears" is decided by the audio itself, so lost audio means lost words:

- codec mode (default): `WordCodec.speak("book a table")` turns words into mu-law (each word a
  run of one byte value, words separated by a little silence); the fake decodes them back;
- script mode (``script=[...]``): any non-silent audio is speech, one scripted utterance per
  speech segment, its words revealed one per ``word_bytes`` of speech (for arbitrary audio).

Silence is mu-law's own (bytes ``0xFF``/``0x7F``) or, for ``linear16`` (little-endian 16-bit
PCM, as clients that resample send it), samples below half mu-law's smallest step (|x| < 4):
what mu-law would carry as its silence, so a resampler's ±1 rounding noise over digital silence
stays silence, as the same line heard in mu-law would. Linear16 audio is timed as if it were
8 kHz mu-law (its runs of silence and sound rescaled from ``sample_rate``), so ``word_bytes``,
endpointing and timestamps mean the same for both encodings; its words come from the script
only (the codec's words are mu-law byte values).

Faults (`DeepgramFaults`, changeable while running): drop the TCP connection (or close with a
code) after N words, refuse the next handshakes with given HTTP statuses, send a malformed
frame after N words.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .websocket_fake import WebsocketFake

__all__ = ["DeepgramFaults", "FakeDeepgram", "ListenRecord", "WordCodec"]

SILENCE = frozenset({0xFF, 0x7F})
BYTES_PER_MS = 8
DEFAULT_ENDPOINTING_MS = 10
"""Deepgram's endpointing when the query does not set it (protocol notes, section 2.1)."""
LINEAR16_SPEECH = 0x00
"""The byte value linear16 sound is fed to the recogniser as: not a codec word, not silence."""
LINEAR16_SILENT_BELOW = 4
"""Half of mu-law's smallest non-zero level (±8): quieter samples are mu-law silence."""


class WordCodec:
    """Words as audio: word *i* of the vocabulary is ``word_bytes`` bytes of value ``i + 1``."""

    def __init__(
        self, vocabulary: Sequence[str], *, word_bytes: int = 400, gap_bytes: int = 8
    ) -> None:
        if len(vocabulary) > 120:
            raise ValueError("at most 120 words")
        self.vocabulary = [word.lower() for word in vocabulary]
        self.word_bytes = word_bytes
        self.gap_bytes = gap_bytes

    def speak(self, text: str) -> bytes:
        """The audio of ``text`` (every word must be in the vocabulary)."""
        audio = bytearray()
        for word in text.lower().split():
            audio += bytes([self.vocabulary.index(word) + 1]) * self.word_bytes
            audio += b"\xff" * self.gap_bytes
        return bytes(audio)

    def word(self, code: int) -> str | None:
        """The word a byte value stands for, if any."""
        return self.vocabulary[code - 1] if 1 <= code <= len(self.vocabulary) else None


def silence(ms: int) -> bytes:
    """``ms`` milliseconds of mu-law silence."""
    return b"\xff" * (ms * BYTES_PER_MS)


@dataclass
class DeepgramFaults:
    """Failures to inject; each ``*_after_words`` fires once, on the connection that hears it."""

    drop_after_words: int | None = None
    drop_code: int | None = None  # None: abort TCP without a close frame
    refuse_statuses: list[int] = field(default_factory=list)  # next handshakes, one each
    malformed_after_words: int | None = None


@dataclass
class ListenRecord:
    """What one connection received."""

    path: str
    query: dict[str, str]
    authorization_ok: bool
    audio_bytes: int = 0
    controls: list[str] = field(default_factory=list)
    close_code: int | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


class _Recognizer:
    """Per-connection recognition state over the audio received so far."""

    def __init__(self, fake: FakeDeepgram, record: ListenRecord) -> None:
        self.fake = fake
        self.record = record
        query = record.query
        endpointing = query.get("endpointing", str(DEFAULT_ENDPOINTING_MS))
        self.endpointing = int(endpointing) if endpointing != "false" else None
        self.linear16 = query.get("encoding") == "linear16"
        self.sample_rate = int(query.get("sample_rate", "8000"))
        self.odd_byte = b""
        self.carry = 0.0
        self.utterance_end = int(query.get("utterance_end_ms", "0"))
        self.vad_events = query.get("vad_events") == "true"
        self.interim = query.get("interim_results") == "true"
        self.offset = 0
        self.silence = 0
        self.in_speech = False
        self.utterance_words = 0
        self.pending_utterance_end = False
        self.last_word_end = 0
        self.run_code: int | None = None
        self.run_len = 0
        self.run_counted = False
        self.speech_bytes = 0
        self.unfinal: list[str] = []
        self.segment_start = 0
        self.words_heard = 0
        self.request_id = str(uuid.uuid4())

    def feed(self, audio: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.linear16:
            self._feed_linear16(audio, out)
            return out
        for value, group in itertools.groupby(audio):
            count = len(list(group))
            if value in SILENCE:
                self._silence(count, out)
            else:
                self._speech(value, count, out)
        return out

    def _feed_linear16(self, audio: bytes, out: list[dict[str, Any]]) -> None:
        """Runs of silent and sounding samples, rescaled to 8 kHz byte counts (the fraction
        carried over, so no time is lost between frames)."""
        data = self.odd_byte + audio
        whole = len(data) - len(data) % 2
        self.odd_byte = data[whole:]
        samples = np.frombuffer(data[:whole], dtype="<i2").astype(np.int32)
        silent = np.abs(samples) < LINEAR16_SILENT_BELOW
        if not len(silent):
            return
        edges = np.flatnonzero(silent[1:] != silent[:-1]) + 1
        starts = [0, *edges.tolist()]
        ends = [*edges.tolist(), len(silent)]
        for start, end in zip(starts, ends, strict=True):
            self.carry += (end - start) * 8000 / self.sample_rate
            count = math.floor(self.carry)
            self.carry -= count
            if not count:
                continue
            if silent[start]:
                self._silence(count, out)
            else:
                self._speech(LINEAR16_SPEECH, count, out)

    def _silence(self, count: int, out: list[dict[str, Any]]) -> None:
        self.run_code = None
        self.offset += count
        self.silence += count
        if (
            self.in_speech
            and self.endpointing is not None
            and self.silence >= self.endpointing * BYTES_PER_MS
        ):
            self.in_speech = False
            out.append(self._result(is_final=True, speech_final=True))
        if (
            self.pending_utterance_end
            and self.utterance_end
            and self.silence >= self.utterance_end * BYTES_PER_MS
        ):
            self.pending_utterance_end = False
            self.in_speech = False
            if self.unfinal:  # Deepgram finalises the segment before the gap is reported
                out.append(self._result(is_final=True))
            out.append(
                {
                    "type": "UtteranceEnd",
                    "channel": [0, 1],
                    "last_word_end": self.last_word_end / 8000,
                }
            )

    def _speech(self, value: int, count: int, out: list[dict[str, Any]]) -> None:
        self.silence = 0
        if not self.in_speech:
            self.in_speech = True
            self.utterance_words = 0
            self.speech_bytes = 0
            if self.vad_events:
                out.append(
                    {"type": "SpeechStarted", "channel": [0, 1], "timestamp": self.offset / 8000}
                )
        if value != self.run_code:
            self.run_code, self.run_len, self.run_counted = value, 0, False
        self.run_len += count
        self.speech_bytes += count
        self.offset += count
        for word in self._words_heard(value):
            self._hear(word, out)

    def _words_heard(self, value: int) -> list[str]:
        fake = self.fake
        if fake.script is None:
            if self.run_counted or self.run_len < fake.codec.word_bytes:
                return []
            self.run_counted = True
            word = fake.codec.word(value)
            return [word] if word else []
        words = fake.script_words()
        due = min(self.speech_bytes // fake.codec.word_bytes, len(words))
        return words[self.utterance_words : due]

    def _hear(self, word: str, out: list[dict[str, Any]]) -> None:
        self.unfinal.append(word)
        self.utterance_words += 1
        self.words_heard += 1
        self.last_word_end = self.offset
        self.pending_utterance_end = True
        if self.interim:
            out.append(self._result(is_final=False))
        if len(self.unfinal) >= self.fake.final_every:
            out.append(self._result(is_final=True))
        faults = self.fake.faults
        if faults.malformed_after_words == self.words_heard:
            faults.malformed_after_words = None
            out.append({"malformed": True})
        if faults.drop_after_words == self.words_heard:
            faults.drop_after_words = None
            out.append({"drop": True})

    def flush(self, *, from_finalize: bool) -> dict[str, Any]:
        if self.fake.script is not None and self.in_speech:
            self.unfinal.extend(self.fake.script_words()[self.utterance_words :])
            self.utterance_words = len(self.fake.script_words())
        return self._result(
            is_final=True, from_finalize=from_finalize, speech_final=not from_finalize
        )

    def _result(
        self, *, is_final: bool, speech_final: bool = False, from_finalize: bool = False
    ) -> dict[str, Any]:
        text = " ".join(self.unfinal)
        message: dict[str, Any] = {
            "type": "Results",
            "channel_index": [0, 1],
            "start": self.segment_start / 8000,
            "duration": (self.offset - self.segment_start) / 8000,
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {
                "alternatives": [
                    {
                        "transcript": text,
                        "confidence": 0.97,
                        "words": [
                            {"word": w, "start": 0.0, "end": 0.0, "confidence": 0.97}
                            for w in self.unfinal
                        ],
                    }
                ]
            },
            "metadata": {
                "request_id": self.request_id,
                "model_uuid": "fake",
                "model_info": {
                    "name": self.record.query.get("model"),
                    "version": "fake",
                    "arch": "fake",
                },
            },
        }
        if from_finalize:
            message["from_finalize"] = True
        if is_final:
            self.unfinal = []
            self.segment_start = self.offset
            if speech_final and self.fake.script is not None and self.utterance_words:
                self.fake.script_index += 1
        self.record.results.append(message)
        return message


class FakeDeepgram(WebsocketFake):
    """``async with FakeDeepgram(...) as fake:`` serves on 127.0.0.1; ``fake.url`` is the base."""

    def __init__(
        self,
        api_key: str = "test-deepgram-key",
        *,
        codec: WordCodec | None = None,
        script: Sequence[str] | None = None,
        final_every: int = 3,
        idle_timeout: float = 10.0,
    ) -> None:
        self.api_key = api_key
        self.codec = codec or WordCodec([])
        self.script = list(script) if script is not None else None
        self.script_index = 0
        self.final_every = final_every
        self.idle_timeout = idle_timeout
        self.faults = DeepgramFaults()
        self.records: list[ListenRecord] = []
        super().__init__()

    def script_words(self) -> list[str]:
        """The words of the scripted utterance in progress."""
        assert self.script is not None
        if self.script_index >= len(self.script):
            return []
        return self.script[self.script_index].split()

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.faults.refuse_statuses:
            status = self.faults.refuse_statuses.pop(0)
            return connection.respond(HTTPStatus(status), "refused by fault injection\n")
        parts = urlsplit(request.path)
        query = dict(parse_qsl(parts.query))
        record = ListenRecord(parts.path, query, _authorized(request.headers, self.api_key))
        if parts.path != "/v1/listen":
            return connection.respond(HTTPStatus.NOT_FOUND, "no such path\n")
        if not record.authorization_ok:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid credentials\n")
        if not _audio_format_ok(query) or not query.get("model"):
            return connection.respond(HTTPStatus.BAD_REQUEST, "bad audio parameters\n")
        self.records.append(record)
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        record = self.records[-1]
        recognizer = _Recognizer(self, record)
        last_activity = time.monotonic()
        try:
            while True:
                remaining = last_activity + self.idle_timeout - time.monotonic()
                try:
                    async with asyncio.timeout(max(remaining, 0)):
                        frame = await ws.recv()
                except TimeoutError:
                    await ws.close(1011, "NET-0001")
                    break
                if isinstance(frame, bytes):
                    if not frame:
                        await ws.close(1011, "DATA-0000")
                        break
                    last_activity = time.monotonic()
                    record.audio_bytes += len(frame)
                    if not await self._send_all(ws, recognizer.feed(frame)):
                        break
                    continue
                kind = json.loads(frame).get("type", "?")
                record.controls.append(kind)
                if kind == "KeepAlive":
                    last_activity = time.monotonic()
                elif kind == "Finalize":
                    await ws.send(json.dumps(recognizer.flush(from_finalize=True)))
                elif kind == "CloseStream":
                    await ws.send(json.dumps(recognizer.flush(from_finalize=False)))
                    await ws.send(json.dumps(_metadata(recognizer)))
                    await ws.close(1000)
                    break
                await self._notify()
        except ConnectionClosed:
            pass
        finally:
            record.close_code = ws.close_code
            await self._notify()

    async def _send_all(self, ws: ServerConnection, messages: list[dict[str, Any]]) -> bool:
        for message in messages:
            if message.get("drop"):
                await self._notify()
                if self.faults.drop_code is None:
                    ws.transport.abort()
                    return False
                # Start the closing handshake, then drain: the client's close frame is queued
                # behind audio frames this handler has not read yet.
                closing = asyncio.create_task(ws.close(self.faults.drop_code, "fault injected"))
                async for _ in ws:
                    pass
                await closing
                return False
            await ws.send("{not json" if message.get("malformed") else json.dumps(message))
        await self._notify()
        return True


def _audio_format_ok(query: dict[str, str]) -> bool:
    """Mu-law at 8 kHz (Twilio's audio as it comes), or 16-bit PCM at a positive rate."""
    encoding, rate = query.get("encoding"), query.get("sample_rate", "")
    if encoding == "mulaw":
        return rate == "8000"
    return encoding == "linear16" and rate.isdigit() and int(rate) > 0


def _authorized(headers: Headers, api_key: str) -> bool:
    return headers.get("Authorization") == f"Token {api_key}"


def _metadata(recognizer: _Recognizer) -> dict[str, Any]:
    return {
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": recognizer.request_id,
        "sha256": "0" * 64,
        "created": "2026-01-01T00:00:00.000Z",
        "duration": recognizer.offset / 8000,
        "channels": 1,
    }
