"""A zero-latency, perfect ASR for the turn-taking benchmark, loaded by ``telephonist run`` as
a user's own engine (``asr: {name: turn_taking_engines.OracleASR, corpus: FILE}``, with this
directory on ``PYTHONPATH``).

It cuts utterances at the server's own VAD edges (``cuts_at_vad_edges``, as the local ASR
does) and answers each one the instant it ends, with the text of the corpus clip its audio
came from: the caller sends a clip's frames byte for byte, so each 20 ms frame is looked up
in a table of the corpus' frames. Noise frames are not in the table: a noise burst gets an
empty `Final`, as a recogniser that found no words answers. So only the server's turn-taking
(VAD, ``vad.min_silence_ms``, a turn model) sets when the bot answers.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import deque
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from telephonist.errors import ConfigError
from telephonist.speech.asr.base import ASRCapabilities, ASREvent, Final

FRAME = 160
PREROLL_FRAMES = 25
"""Frames before the VAD's onset that belong to the utterance (the VAD dates speech late)."""


def write_corpus(path: Path, clips: list[tuple[str, bytes]]) -> None:
    """The corpus file: each clip's text and audio (only clips with words need be in it)."""
    rows = [{"text": text, "mulaw": base64.b64encode(audio).decode()} for text, audio in clips]
    path.write_text(json.dumps(rows))


class OracleStream:
    """One call: the texts of the clips heard between two VAD edges, at the second."""

    def __init__(self, frames: Mapping[bytes, str]) -> None:
        self._frames = frames
        self._recent: deque[str | None] = deque(maxlen=PREROLL_FRAMES)
        self._heard: list[str] | None = None
        self._events: asyncio.Queue[ASREvent | None] = asyncio.Queue()

    async def send(self, audio: bytes) -> None:
        for offset in range(0, len(audio) - FRAME + 1, FRAME):
            text = self._frames.get(audio[offset : offset + FRAME])
            self._recent.append(text)
            if self._heard is not None and text is not None and text not in self._heard:
                self._heard.append(text)

    async def on_vad(self, speaking: bool) -> None:
        if speaking:
            self._heard = list(dict.fromkeys(t for t in self._recent if t is not None))
        elif self._heard is not None:
            self._events.put_nowait(Final(" ".join(self._heard), 1.0))
            self._heard = None

    async def on_pause(self, paused: bool) -> None:
        return None

    async def events(self) -> AsyncIterator[ASREvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def close(self) -> None:
        self._events.put_nowait(None)


class OracleASR:
    """Knows every clip of the corpus by its frames."""

    capabilities = ASRCapabilities(cuts_at_vad_edges=True)

    def __init__(self, corpus: Path) -> None:
        rows = json.loads(corpus.read_text())
        self.frames: dict[bytes, str] = {}
        for row in rows:
            audio = base64.b64decode(row["mulaw"])
            for offset in range(0, len(audio) - FRAME + 1, FRAME):
                frame = audio[offset : offset + FRAME]
                if frame.count(0xFF) < FRAME:  # digital silence belongs to no clip
                    self.frames.setdefault(frame, row["text"])

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: Any) -> OracleASR:
        if set(config) != {"corpus"} or not isinstance(config["corpus"], str):
            raise ConfigError("takes one key, corpus: FILE", file=context.file, key=context.key)
        return cls(Path(config["corpus"]))

    async def open_stream(self, language: str) -> OracleStream:
        return OracleStream(self.frames)
