"""A streaming client for one model behind an OpenAI-compatible chat-completions API.

``openai`` (or any compatible service, through ``api_base``), ``self-hosted`` (vLLM,
llama.cpp's server, a gateway), ``ollama`` (its ``/v1`` endpoint) and ``azure`` (the
deployment URL with ``api-version`` and an ``api-key`` header) differ only in the URL and
the header carrying the key. The answer is read as server-sent events (``stream: true``);
a server that ignores streaming and answers one JSON completion is read too.

The key comes from the environment (``api_key: ${VAR}``, else the provider's variable) and
never appears in a log line, an error or a repr; a server's error text that echoes it is
redacted. Every failure is a ProviderError (``retryable`` for timeouts, dropped
connections, 429 and 5xx).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from httpx_sse import EventSource

from telephonist.config.yamlfile import interpolate
from telephonist.dialogue.llm_settings import DEFAULT_KEY_VARIABLES, ModelSettings
from telephonist.errors import ConfigError, ProviderError

__all__ = ["ChatClient", "endpoint"]

_DEFAULT_BASES = {"openai": "https://api.openai.com/v1", "ollama": "http://localhost:11434"}
# Where a model without api_base is served, as Rasa (LiteLLM) reads it from the environment:
# an unchanged Rasa project can be pointed at a local OpenAI-compatible server.
BASE_VARIABLES = {"openai": "OPENAI_API_BASE", "azure": "AZURE_API_BASE"}
AZURE_API_VERSION = "2024-10-21"


def endpoint(model: ModelSettings, environ: Mapping[str, str]) -> str:
    """The chat-completions URL of ``model`` (``${VAR}`` in it read from ``environ``)."""
    base: str | None = model.api_base or environ.get(BASE_VARIABLES.get(model.provider, ""))
    base = base or _DEFAULT_BASES.get(model.provider)
    if not base:
        raise ConfigError("missing api_base", file=model.where)
    base = str(interpolate(base, environ, file=model.where, key="api_base")).rstrip("/")
    if model.provider == "azure":
        version = model.api_version or environ.get("AZURE_API_VERSION") or AZURE_API_VERSION
        version = interpolate(version, environ, file=model.where, key="api_version")
        deployment = f"{base}/openai/deployments/{model.deployment}"
        return f"{deployment}/chat/completions?api-version={version}"
    if model.provider == "ollama" and not base.endswith("/v1"):
        base += "/v1"
    return f"{base}/chat/completions"


def _key(model: ModelSettings, environ: Mapping[str, str]) -> str | None:
    if model.api_key is not None:
        return str(interpolate(model.api_key, environ, file=model.where, key="api_key")) or None
    return environ.get(DEFAULT_KEY_VARIABLES[model.provider]) or None


def _content(data: str) -> str:
    """The text of one streamed chunk (or of a whole JSON completion); '' when none."""
    try:
        chunk = json.loads(data)
        choice = chunk["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
    if not isinstance(choice, dict):
        return ""
    part = choice.get("delta") or choice.get("message") or {}
    text = part.get("content") if isinstance(part, dict) else None
    if text is None:
        text = choice.get("text")  # a completions-style chunk
    return text if isinstance(text, str) else ""


class ChatClient:
    """Streams one prompt's completion from one model; shares the caller's HTTP pool."""

    def __init__(
        self, model: ModelSettings, environ: Mapping[str, str], http: httpx.AsyncClient
    ) -> None:
        self.model = model
        self.name = f"{model.provider}:{model.model}"
        self.url = endpoint(model, environ)
        self._http = http
        self._key = _key(model, environ)
        self._headers = {"Accept": "text/event-stream"}
        if self._key and model.provider == "azure":
            self._headers["api-key"] = self._key
        elif self._key:
            self._headers["Authorization"] = f"Bearer {self._key}"

    def __repr__(self) -> str:
        return f"ChatClient({self.name!r}, {self.url!r})"

    def body(self, prompt: str) -> dict[str, Any]:
        """The request: the prompt as one user message, streamed, with the model's params."""
        return {
            "model": self.model.model,
            "messages": [{"role": "user", "content": prompt}],
            **self.model.params,
            "stream": True,
        }

    def _failure(self, message: str, *, retryable: bool) -> ProviderError:
        if self._key:
            message = message.replace(self._key, "***")
        return ProviderError("llm", f"{self.name}: {message}", retryable=retryable)

    async def stream(self, prompt: str) -> AsyncIterator[str]:
        """The completion's text, piece by piece as the server sends it."""
        timeout = httpx.Timeout(self.model.timeout or 30.0, connect=5.0)
        try:
            async with self._http.stream(
                "POST", self.url, json=self.body(prompt), headers=self._headers, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    detail = (await response.aread()).decode("utf-8", "replace")[:200]
                    status = response.status_code
                    raise self._failure(
                        f"HTTP {status}: {detail}", retryable=status == 429 or status >= 500
                    )
                kind = response.headers.get("content-type", "")
                if "text/event-stream" not in kind:  # streaming ignored: one JSON answer
                    yield _content((await response.aread()).decode("utf-8", "replace"))
                    return
                async for event in EventSource(response).aiter_sse():
                    if event.data.strip() == "[DONE]":
                        return
                    if text := _content(event.data):
                        yield text
        except httpx.TimeoutException as exc:
            raise self._failure(f"timed out ({type(exc).__name__})", retryable=True) from None
        except httpx.HTTPError as exc:
            raise self._failure(f"{type(exc).__name__}: {exc}", retryable=True) from None
