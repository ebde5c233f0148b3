"""A chain of voices: ``tts:`` may be a list, tried in order for each message.

If an engine fails (a `ProviderError`, or no first chunk within ``first_chunk_timeout``)
*before* any audio of the message was yielded, the next engine speaks the message instead. Once
audio has started, a failure ends that message: the caller has heard part of it, and saying
it again from the start in another voice would be worse than stopping. Every failure is
reported through ``on_failure`` (an event and metric hook), whether it was covered or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telephonist.errors import ProviderError
from telephonist.speech.registry import ProviderContext, build_tts
from telephonist.speech.tts.base import TTSEngine, VoiceSpec

__all__ = ["FallbackTTS", "TTSFailure"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TTSFailure:
    """One engine failed one message. ``next_engine`` is who speaks instead (None: nobody)."""

    engine: str
    message: str
    retryable: bool
    after_audio: bool
    next_engine: str | None


class FallbackTTS:
    """`TTSEngine` trying ``engines`` (name, engine) in order for each message."""

    def __init__(
        self,
        engines: Sequence[tuple[str, TTSEngine]],
        *,
        on_failure: Callable[[TTSFailure], None] | None = None,
        first_chunk_timeout: float | None = None,
    ) -> None:
        if not engines:
            raise ValueError("FallbackTTS needs at least one engine")
        self.engines = list(engines)
        self._on_failure = on_failure
        self._first_chunk_timeout = first_chunk_timeout

    def __repr__(self) -> str:
        return f"FallbackTTS({[name for name, _ in self.engines]!r})"

    @classmethod
    def from_blocks(
        cls,
        blocks: Sequence[Mapping[str, Any]],
        context: ProviderContext,
        *,
        on_failure: Callable[[TTSFailure], None] | None = None,
        first_chunk_timeout: float | None = None,
    ) -> FallbackTTS:
        """Build every engine of a ``tts:`` list now, so any bad block fails at start-up."""
        engines: list[tuple[str, TTSEngine]] = []
        for index, block in enumerate(blocks):
            item = ProviderContext(
                context.file,
                f"{context.key}[{index}]",
                context.environ,
                context.language,
                context.phrases,
                context.extra,
            )
            name = str(block.get("name", "?")) if isinstance(block, Mapping) else "?"
            engines.append(
                (f"{name}#{index}" if name in dict(engines) else name, build_tts(block, item))
            )
        return cls(engines, on_failure=on_failure, first_chunk_timeout=first_chunk_timeout)

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """The first engine's audio that starts; raises the last error if none does."""
        last: ProviderError | None = None
        for index, (name, engine) in enumerate(self.engines):
            following = self.engines[index + 1][0] if index + 1 < len(self.engines) else None
            started = False
            chunks = engine.synthesize(text, voice)
            try:
                first = await self._first(chunks)
                if first is None:
                    return  # the engine had nothing to say: not a failure
                started = True
                yield first
                async for chunk in chunks:
                    yield chunk
                return
            except (ProviderError, TimeoutError) as exc:
                error = (
                    exc
                    if isinstance(exc, ProviderError)
                    else ProviderError(
                        name, "no audio within the first-chunk timeout", retryable=True
                    )
                )
                self._report(
                    TTSFailure(
                        name, str(error), error.retryable, started, None if started else following
                    )
                )
                if started:
                    return  # don't re-speak what the caller partly heard
                last = error
            finally:
                await chunks.aclose()  # stops the provider's work, also when we are cancelled
        assert last is not None
        raise last

    async def warm_up(self) -> None:
        """Warm every engine (e.g. Cartesia's websocket); one that fails is logged and
        skipped, as the chain covers it."""
        for name, engine in self.engines:
            try:
                await engine.warm_up()
            except ProviderError as exc:  # a cold voice is not fatal; the chain covers it
                logger.warning("tts.warm_up_failed engine=%s error=%s", name, exc)

    async def aclose(self) -> None:
        """Close every engine (at shutdown), in order, even when one fails to: each failure
        is logged with its engine, and the last one is raised once all are done."""
        async with contextlib.AsyncExitStack() as engines:  # closes in reverse order
            for name, engine in reversed(self.engines):
                engines.push_async_callback(_close, name, engine)

    async def _first(self, chunks: AsyncIterator[bytes]) -> bytes | None:
        async with asyncio.timeout(self._first_chunk_timeout):
            async for chunk in chunks:
                if chunk:
                    return chunk
        return None

    def _report(self, failure: TTSFailure) -> None:
        logger.warning(
            "tts.failed engine=%s retryable=%s after_audio=%s next=%s error=%s",
            failure.engine,
            failure.retryable,
            failure.after_audio,
            failure.next_engine,
            failure.message,
        )
        if self._on_failure is not None:
            self._on_failure(failure)


async def _close(name: str, engine: TTSEngine) -> None:
    """Close one engine; a failure is logged here, as the exit stack keeps only the last."""
    try:
        await engine.aclose()
    except Exception as exc:
        logger.warning("tts.close_failed engine=%s error=%s", name, exc)
        raise
