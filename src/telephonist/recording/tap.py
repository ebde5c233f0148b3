"""One recorded call segment: fed where the audio crosses the wire (caller frames as they
arrive, what the server sends, mark echoes) and by the call's events; hands finished
stretches of audio and transcript snapshots to the writer.

Per caller frame it appends 160 bytes and compares two integers; every half second of audio
it replays the bot's side (`Timeline.take`) and queues the stretch, and the transcript so far
if it changed and the last was queued ``SAVE_EVERY_BYTES`` of call time ago (so the file on
disk is never further behind, whenever the events come); whole at the end. A closed tap
ignores whatever still arrives (an old socket after "stream replaced").
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime

from telephonist.call.events import CallEvent
from telephonist.config.recording import RecordingSettings
from telephonist.recording.call_events import EventReader, end_reason
from telephonist.recording.segments import finished_path, segment_paths
from telephonist.recording.timeline import Timeline
from telephonist.recording.transcript import Transcript
from telephonist.recording.writer import SegmentWriter

__all__ = ["CallTap"]

SAVE_EVERY_BYTES = 10 * 8000
"""The transcript on disk is at most this much call time behind (a crash loses no more)."""
_MEDIA = '{"event":"media"'
_PAYLOAD = '"payload":"'


class CallTap:
    """The recorder of one call's stream on this server."""

    def __init__(
        self,
        call_sid: str,
        settings: RecordingSettings,
        writer: SegmentWriter,
        wall: Callable[[], float],
    ) -> None:
        started = datetime.fromtimestamp(wall(), UTC)
        self.call_sid = call_sid
        self.key = f"{call_sid}@{started.timestamp()}"
        self.timeline = Timeline()
        self._writer = writer
        self._wall = wall
        self._keeps_audio = settings.wav
        wav_path, json_path = segment_paths(
            settings.folder, call_sid, started, settings.instance, partial=True
        )
        final_wav = finished_path(wav_path).name
        self.transcript = (
            Transcript(
                call_sid,
                settings.instance,
                started.astimezone(UTC).isoformat(timespec="milliseconds"),
                final_wav if settings.wav else None,
                mask_dtmf=settings.mask_dtmf,
            )
            if settings.transcript
            else None
        )
        self._reader = EventReader(self.transcript, self.timeline)
        self._next_save = 0
        self._changed = False
        """The transcript has news not queued yet."""
        self.closed = False
        writer.open(
            self.key,
            wav_path if settings.wav else None,
            json_path if settings.transcript else None,
        )

    # -- the wire -----------------------------------------------------------------------------

    def caller(self, mulaw: bytes) -> None:
        """A caller frame arrived (the hot path)."""
        if not self.closed and self.timeline.caller(mulaw):
            self._flush(final=False)

    def sent(self, text: str) -> None:
        """The server sent one message to Twilio."""
        if self.closed:
            return
        if text.startswith(_MEDIA):  # our own media frames: no JSON parse for the payload
            start = text.find(_PAYLOAD) + len(_PAYLOAD)
            end = text.find('"', start)
            if start >= len(_PAYLOAD) and end > start:
                self._audio(text[start:end])
                return
        try:
            message = json.loads(text)
        except ValueError:
            return
        event = message.get("event") if isinstance(message, dict) else None
        if event == "media":
            self._audio(str(message.get("media", {}).get("payload", "")))
        elif event == "mark":
            self.timeline.sent_mark(str(message.get("mark", {}).get("name", "")))
        elif event == "clear":
            self.timeline.sent_clear()

    def echoed(self, name: str) -> None:
        """Twilio echoed a mark."""
        if not self.closed:
            self.timeline.echoed(name)

    def _audio(self, payload: str) -> None:
        try:
            self.timeline.sent_audio(base64.b64decode(payload))
        except (binascii.Error, ValueError):
            return

    # -- events and the end -------------------------------------------------------------------

    def event(self, event: CallEvent) -> bool:
        """One of the call's events; True when the call ended (the tap is then closed)."""
        if self.closed:
            return False
        reason = end_reason(event)
        if reason is not None:
            self.close(reason)
            return True
        if self._reader.read(event):
            self._changed = True
        return False

    def close(self, reason: str | None = None) -> None:
        """The stream is over: the rest of the audio, the final transcript."""
        if self.closed:
            return
        self.closed = True
        self._flush(final=True)
        text = None
        if self.transcript is not None:
            ended = datetime.fromtimestamp(self._wall(), UTC).isoformat(timespec="milliseconds")
            self.transcript.ended(self.timeline.position, ended, reason)
            text = self.transcript.dumps(compact=True)  # indented by the writer thread
        self._writer.finish(self.key, text, bot_dropped=self.timeline.dropped_bytes)

    def _flush(self, *, final: bool) -> None:
        caller, bot = self.timeline.take(final=final)
        if caller and self._keeps_audio:
            self._writer.audio(self.key, caller, bot)
        position = self.timeline.position
        if final or not self._changed or self.transcript is None or position < self._next_save:
            return
        self._changed = False
        self._next_save = position + SAVE_EVERY_BYTES
        self._writer.transcript(self.key, self.transcript.dumps(compact=True))
