"""Scoring many calls' audio with one VAD inference, off the event loop.

Calls submit frames and get a callback with the probabilities. Frames that arrive while an
inference runs, or within ``min_interval`` of the previous one starting, go together into the
next, so batches grow with load by themselves: a lone call is scored at once (no added delay),
two hundred calls share one inference every 10 ms instead of thousands of thread hops.
Inference runs on one worker thread (onnxruntime releases the GIL), leaving the event loop
free for sockets.

A batch takes at most ``max_stream_ms`` of audio from each stream; the rest waits, in order,
for the next. A stream's windows are scored one after another, so without the bound one call
sending a backlog of seconds would make every other call's verdict wait for all of it. Frames
wait in a queue per stream, so a batch touches only what it takes: when a loaded machine falls
behind, the backlog does not make each batch slower (which made it fall further behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.speech.vad.base import VADStream

__all__ = ["BatchModel", "VADBatcher"]

log = logging.getLogger(__name__)

Callback = Callable[[list[float]], None]


class BatchModel(Protocol):
    """What the batcher needs of a `VADModel`: scoring many streams' audio in one call."""

    def probabilities_batch(
        self, items: Sequence[tuple[VADStream, bytes]]
    ) -> list[list[float]]: ...


class VADBatcher:
    """Shared by all calls of a process."""

    def __init__(
        self, model: BatchModel, *, min_interval: float = 0.01, max_stream_ms: float = 320.0
    ) -> None:
        self._model = model
        self._max_stream_bytes = max_stream_ms * MULAW_BYTES_PER_MS
        self._pending: dict[VADStream, deque[tuple[bytes, Callback]]] = {}
        """Each stream's frames not yet scored, in order; streams in order of their first."""
        self._draining = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vad")
        self._tasks: set[asyncio.Task[None]] = set()
        self._min_interval = min_interval
        self._fed: weakref.WeakKeyDictionary[VADStream, int] = weakref.WeakKeyDictionary()
        self._last_start = -1e9
        self.batches = 0
        self.windows = 0
        self.last_error: Exception | None = None

    def submit(self, stream: VADStream, audio: bytes, done: Callback) -> None:
        """Score ``audio`` for ``stream``; ``done(probabilities)`` runs on the event loop once
        it is scored. A stream's submissions complete in order. On a model failure ``done``
        gets an empty list (the failure is logged), so a call never stalls on its VAD."""
        queue = self._pending.get(stream)
        if queue is None:
            self._pending[stream] = queue = deque()
        queue.append((audio, done))
        if not self._draining:
            self._draining = True
            loop = asyncio.get_running_loop()
            loop.call_soon(lambda: self._tasks.add(loop.create_task(self._drain())))

    async def score(self, stream: VADStream, audio: bytes) -> list[float]:
        """Speech probabilities of the windows ``audio`` completes for ``stream``."""
        future: asyncio.Future[list[float]] = asyncio.get_running_loop().create_future()

        def done(probabilities: list[float]) -> None:
            if not future.done():
                future.set_result(probabilities)

        self.submit(stream, audio, done)
        result = await future
        if self.last_error is not None and not result:
            raise self.last_error
        return result

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                wait = self._last_start + self._min_interval - loop.time()
                if wait > 0:  # under load, let more frames join this inference
                    await asyncio.sleep(wait)
                self._last_start = loop.time()
                items = self._take_batch()
                try:
                    results = await loop.run_in_executor(
                        self._executor,
                        self._model.probabilities_batch,
                        [(stream, audio) for stream, audio, _ in items],
                    )
                except Exception as exc:  # no call may stall: each gets "no windows"
                    log.exception("vad.batch_failed")
                    self.last_error = exc
                    results = [[] for _ in items]
                else:
                    self.last_error = None
                    self.batches += 1
                for (stream, _, frames), probabilities in zip(items, results, strict=True):
                    self.windows += len(probabilities)
                    try:
                        self._deliver(stream, frames, probabilities)
                    except Exception:  # bookkeeping failed: nobody may be left waiting
                        log.exception("vad.deliver_failed")
                        for done, _ in frames:
                            with contextlib.suppress(Exception):
                                done([])
        finally:
            self._draining = False
            self._tasks = {t for t in self._tasks if not t.done()}

    def _take_batch(self) -> list[tuple[VADStream, bytes, list[tuple[Callback, int]]]]:
        """Each pending stream's frames, in order, up to its share; the rest stay queued (a
        backlog costs nothing until its turn comes)."""
        items = []
        pending, self._pending = self._pending, {}
        for stream, queue in pending.items():
            audio = bytearray()
            frames: list[tuple[Callback, int]] = []
            while queue and len(audio) < self._max_stream_bytes:
                frame, done = queue.popleft()
                audio += frame
                frames.append((done, len(frame)))
            if queue:
                self._pending[stream] = queue
            items.append((stream, bytes(audio), frames))
        return items

    def _deliver(
        self, stream: VADStream, frames: list[tuple[Callback, int]], probabilities: list[float]
    ) -> None:
        """Give each frame the windows its own bytes completed, so a burst of frames still
        gets its speech edges at the right frames."""
        window = max(1, int(stream.window_ms * MULAW_BYTES_PER_MS))
        fed = self._fed.get(stream, 0)
        first = fed // window
        taken = 0
        for index, (done, size) in enumerate(frames):
            fed += size
            upto = (
                len(probabilities)
                if index == len(frames) - 1
                else min(len(probabilities), fed // window - first)
            )
            try:
                done(probabilities[taken:upto])
            except Exception:
                log.exception("vad.callback_failed")
            taken = max(taken, upto)
        self._fed[stream] = fed

    def close(self) -> None:
        """Stop the worker thread."""
        self._executor.shutdown(wait=False, cancel_futures=True)
