"""Scoring many calls' audio with one VAD inference, off the event loop.

Every call awaits the probabilities of its newest frame. Frames that arrive while an
inference is running wait and go together into the next one, so batches grow with load by
themselves: a lone call is scored at once (no added delay), two hundred calls share a few
inferences per frame period. Inference runs on one worker thread (onnxruntime releases the
GIL), leaving the event loop free for sockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

__all__ = ["BatchModel", "VADBatcher"]

log = logging.getLogger(__name__)

Callback = Callable[[list[float]], None]
_Item = tuple[Any, bytes, Callback]


class BatchModel(Protocol):
    """A VAD model that can score many streams' audio in one call."""

    def probabilities_batch(self, items: Sequence[tuple[Any, bytes]]) -> list[list[float]]: ...


class VADBatcher:
    """Shared by all calls of a process."""

    def __init__(self, model: BatchModel) -> None:
        self._model = model
        self._pending: list[_Item] = []
        self._draining = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vad")
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.windows = 0
        self.last_error: Exception | None = None

    def submit(self, stream: object, audio: bytes, done: Callback) -> None:
        """Score ``audio`` for ``stream``; ``done(probabilities)`` runs on the event loop once
        it is scored. A stream's submissions complete in order. On a model failure ``done``
        gets an empty list (the failure is logged), so a call never stalls on its VAD."""
        self._pending.append((stream, audio, done))
        if not self._draining:
            self._draining = True
            loop = asyncio.get_running_loop()
            loop.call_soon(lambda: self._tasks.add(loop.create_task(self._drain())))

    async def score(self, stream: object, audio: bytes) -> list[float]:
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
                batch: list[_Item] = []
                later: list[_Item] = []
                seen: set[int] = set()
                for item in self._pending:  # one item per stream per inference
                    (later if id(item[0]) in seen else batch).append(item)
                    seen.add(id(item[0]))
                self._pending = later
                try:
                    results = await loop.run_in_executor(
                        self._executor, self._model.probabilities_batch,
                        [(stream, audio) for stream, audio, _ in batch])
                except Exception as exc:  # no call may stall: each gets "no windows"
                    log.exception("vad.batch_failed")
                    self.last_error = exc
                    results = [[] for _ in batch]
                else:
                    self.last_error = None
                    self.batches += 1
                for (_, _, done), probabilities in zip(batch, results, strict=True):
                    self.windows += len(probabilities)
                    try:
                        done(probabilities)
                    except Exception:
                        log.exception("vad.callback_failed")
        finally:
            self._draining = False
            self._tasks = {t for t in self._tasks if not t.done()}

    def close(self) -> None:
        """Stop the worker thread."""
        self._executor.shutdown(wait=False, cancel_futures=True)
