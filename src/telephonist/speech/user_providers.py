"""A user's own ASR or TTS class (``name: package.module.Class``) behind the full seam.

The seams declare lifecycle and capabilities (`ASRProvider.warm_up`, ``aclose``,
``capabilities``; the same for `TTSEngine`), so no wrapper can drop them. A user's class only
has to implement what README's "Your own engine" shows; the adapters here supply the rest:
``warm_up`` and ``aclose`` default to doing nothing, ``capabilities`` to `ASRCapabilities()`,
a stream's ``on_pause`` to nothing. What the class does define is checked once, at start-up,
with an error naming the key; a stream is checked when a call opens it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telephonist.errors import ProviderError
from telephonist.speech.asr.base import ASRCapabilities, ASREvent, ASRStream
from telephonist.speech.tts.base import VoiceSpec

if TYPE_CHECKING:  # the registry imports this module
    from telephonist.speech.registry import ProviderContext

__all__ = ["UserASR", "UserTTS"]

_STREAM_METHODS = ("send", "on_vad", "events", "close")

Lifecycle = Callable[[], Coroutine[Any, Any, None]]


async def _nothing() -> None:
    """The default ``warm_up`` / ``aclose``: nothing to prepare or release."""


def _method(provider: object, name: str, context: ProviderContext, *, required: bool) -> Any:
    """``provider.name`` if callable; None if absent and optional; else a ConfigError."""
    method = getattr(provider, name, None)
    if method is None and not required:
        return None
    if not callable(method):
        kind = type(provider).__qualname__
        problem = "has no" if method is None else "has a non-callable"
        raise context.error(f"{kind} {problem} {name}() method", key="name")
    return method


class _UserProvider:
    """What both adapters share: the user's object, its name, and its lifecycle or none."""

    def __init__(self, inner: object, name: str, context: ProviderContext) -> None:
        self.inner = inner
        self.name = name
        self._warm_up: Lifecycle = _method(inner, "warm_up", context, required=False) or _nothing
        self._aclose: Lifecycle = _method(inner, "aclose", context, required=False) or _nothing

    def __repr__(self) -> str:
        return repr(self.inner)

    async def warm_up(self) -> None:
        """The class's own ``warm_up``, if it has one."""
        await self._warm_up()

    async def aclose(self) -> None:
        """The class's own ``aclose``, if it has one."""
        await self._aclose()


class UserASR(_UserProvider):
    """An `ASRProvider` around a user's class that has at least ``open_stream``."""

    def __init__(self, inner: object, name: str, context: ProviderContext) -> None:
        super().__init__(inner, name, context)
        self._open = _method(inner, "open_stream", context, required=True)
        capabilities = getattr(inner, "capabilities", ASRCapabilities())
        if not isinstance(capabilities, ASRCapabilities):
            raise context.error(
                f"{type(inner).__qualname__}.capabilities must be an ASRCapabilities "
                f"(telephonist.speech.asr.base), not {type(capabilities).__name__}",
                key="name",
            )
        self.capabilities = capabilities

    async def open_stream(self, language: str) -> ASRStream:
        """The class's stream, checked; one without ``on_pause`` gets a no-op one."""
        stream = await self._open(language)
        kind = type(stream).__qualname__
        missing = [name for name in _STREAM_METHODS if not callable(getattr(stream, name, None))]
        if missing:
            raise ProviderError(
                self.name, f"its stream {kind} has no {', '.join(missing)}", retryable=False
            )
        if callable(getattr(stream, "on_pause", None)):
            return stream  # type: ignore[no-any-return]
        if self.capabilities.pause_ms is not None:
            raise ProviderError(
                self.name, f"pause_ms is declared but {kind} has no on_pause", retryable=False
            )
        return _PauseDeaf(stream)


class _PauseDeaf:
    """A user's stream without ``on_pause`` (never called: no ``pause_ms`` declared). The
    other methods hand back the stream's own coroutines, adding no await per frame."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def send(self, audio: bytes) -> Coroutine[Any, Any, None]:
        return self._inner.send(audio)  # type: ignore[no-any-return]

    def on_vad(self, speaking: bool) -> Coroutine[Any, Any, None]:
        return self._inner.on_vad(speaking)  # type: ignore[no-any-return]

    async def on_pause(self, paused: bool) -> None:
        """Not declared by the provider, so never called."""

    def events(self) -> AsyncIterator[ASREvent]:
        return self._inner.events()  # type: ignore[no-any-return]

    def close(self) -> Coroutine[Any, Any, None]:
        return self._inner.close()  # type: ignore[no-any-return]


class UserTTS(_UserProvider):
    """A `TTSEngine` around a user's class that has at least ``synthesize``."""

    def __init__(self, inner: object, name: str, context: ProviderContext) -> None:
        super().__init__(inner, name, context)
        self._synthesize = _method(inner, "synthesize", context, required=True)

    def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """The class's chunks; an async iterator that is not a generator is made one, so
        closing it early (barge-in) works the same."""
        chunks = self._synthesize(text, voice)
        if isinstance(chunks, AsyncGenerator):
            return chunks
        if not isinstance(chunks, AsyncIterator):
            raise ProviderError(
                self.name, "synthesize() must return an async iterator of bytes", retryable=False
            )
        return _generator(chunks)


async def _generator(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    async for chunk in chunks:
        yield chunk
