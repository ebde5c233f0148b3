"""`Recorder`: a server's call recordings. The media socket hands it each call's transport
to wrap (so every media, mark and ``clear`` the session sends is seen), feeds it caller frames
and mark echoes, and the call's events arrive through the event bus.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from telephonist.call.events import CallEvent, EventBus
from telephonist.call.transport import Transport
from telephonist.config.recording import RecordingSettings
from telephonist.recording.call_events import end_reason
from telephonist.recording.tap import CallTap
from telephonist.recording.upload import BucketUploader
from telephonist.recording.writer import SegmentWriter

__all__ = ["Recorder", "RecordingTransport"]

log = logging.getLogger(__name__)


class RecordingTransport:
    """A `Transport` that shows the tap every message before it goes to Twilio."""

    def __init__(self, inner: Transport, tap: CallTap) -> None:
        self._inner = inner
        self._tap = tap

    async def send(self, text: str) -> None:
        """Note the message's place on the line, then send it."""
        self._tap.sent(text)
        await self._inner.send(text)

    async def close(self) -> None:
        """Close the socket."""
        await self._inner.close()


class Recorder:
    """Every recorded call of this server, and the thread that writes them."""

    def __init__(
        self,
        settings: RecordingSettings,
        events: EventBus,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._wall = wall
        self.uploader = (
            None if settings.s3 is None else BucketUploader(settings.s3, settings.folder)
        )
        """Copies finished files to the bucket (``recording.s3``), if one is set."""
        self._writer = SegmentWriter(
            settings, wall=wall, on_final=self.uploader.put if self.uploader else None
        )
        self._taps: dict[str, CallTap] = {}
        self._ends_to_skip: dict[str, int] = {}
        self._closed = False
        self._unsubscribe = events.subscribe(self._event)

    def wrap(self, call_sid: str, transport: Transport) -> Transport:
        """Start recording ``call_sid``; its session sends through the returned transport."""
        previous = self._taps.pop(call_sid, None)
        if previous is not None:  # the call's earlier stream on this server is over...
            previous.close("stream replaced")
            # ...though its session's end is still to come: that one is not this tap's.
            self._ends_to_skip[call_sid] = self._ends_to_skip.get(call_sid, 0) + 1
        tap = CallTap(call_sid, self.settings, self._writer, self._wall)
        self._taps[call_sid] = tap
        return RecordingTransport(transport, tap)

    def tap(self, call_sid: str) -> CallTap | None:
        """The call's tap, for the media socket to feed caller frames and mark echoes."""
        return self._taps.get(call_sid)

    def _event(self, event: CallEvent) -> None:
        if self._ends_to_skip.get(event.call_id) and end_reason(event) is not None:
            self._ends_to_skip[event.call_id] -= 1
            if not self._ends_to_skip[event.call_id]:
                del self._ends_to_skip[event.call_id]
            return
        tap = self._taps.get(event.call_id)
        if tap is not None and tap.event(event):
            del self._taps[event.call_id]

    async def written(self) -> None:
        """Wait until everything queued so far is on disk."""
        await asyncio.to_thread(self._writer.barrier().wait)

    async def aclose(self) -> None:
        """At shutdown: finish every call still recorded and write everything queued (the
        writer thread is joined off the loop). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        for tap in self._taps.values():
            tap.close("server stopped")
        self._taps.clear()
        await asyncio.to_thread(self._writer.close)
        if self.uploader is not None:
            await asyncio.to_thread(self.uploader.close)
