"""Scoring many calls' audio with one VAD inference, off the event loop.

Every call awaits the probabilities of its newest frame. Frames that arrive while an
inference is running wait and go together into the next one, so batches grow with load by
themselves: a lone call is scored at once (no added delay), two hundred calls share a few
inferences per frame period. Inference runs on one worker thread (onnxruntime releases the
GIL), leaving the event loop free for sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

__all__ = ["BatchModel", "VADBatcher"]

_Item = tuple[Any, bytes, "asyncio.Future[list[float]]"]


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
        self.batches = 0
        self.windows = 0

    async def score(self, stream: object, audio: bytes) -> list[float]:
        """Speech probabilities of the windows ``audio`` completes for ``stream``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[float]] = loop.create_future()
        self._pending.append((stream, audio, future))
        if not self._draining:
            self._draining = True
            loop.call_soon(lambda: asyncio.ensure_future(self._drain()))
        return await future

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
                except Exception as exc:  # hand the failure to every waiting call
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.batches += 1
                for (_, _, future), probabilities in zip(batch, results, strict=True):
                    self.windows += len(probabilities)
                    if not future.done():
                        future.set_result(probabilities)
        finally:
            self._draining = False

    def close(self) -> None:
        """Stop the worker thread."""
        self._executor.shutdown(wait=False, cancel_futures=True)
