"""A local OpenAI-compatible chat-completions server that streams scripted completions.

``POST /v1/chat/completions`` (OpenAI, vLLM, llama.cpp, Ollama's /v1) and
``POST /openai/deployments/{name}/chat/completions?api-version=...`` (Azure) answer with the
next scripted completion as server-sent events, ``chunk`` characters per event, ending with
``data: [DONE]``. Each request may instead get a scripted misbehaviour (``faults``):

- ``("status", 500)``: that HTTP status with a JSON error;
- ``("slow", seconds)``: wait before the first byte;
- ``("stall", n)``: send the first ``n`` characters, then wait until the fake closes;
- ``("cut", n)``: send the first ``n`` characters, then drop the connection mid-body;
- ``("garbage", 0)``: events that are not JSON and JSON without choices, then the text;
- ``("json", 0)``: ignore ``stream`` and answer one JSON completion;
- ``("echo", 401)``: that status with the request's credentials in the error text (as a
  careless server might), to prove a client never repeats them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .http_app import ServedApp

__all__ = ["FakeLLM", "LLMRequest"]

Reply = str | Callable[[str], str]


@dataclass
class LLMRequest:
    """What one chat-completions request carried."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        """The text of the (single) user message."""
        return str(self.body["messages"][-1]["content"])


class FakeLLM:
    """``async with FakeLLM(["start flow x"]) as llm:`` then point ``api_base`` at
    ``llm.base`` (``http://127.0.0.1:PORT/v1``)."""

    def __init__(self, replies: Sequence[Reply] | None = None, *, chunk: int = 5) -> None:
        self.replies: list[Reply] = list(replies or [])
        self.faults: list[tuple[str, float]] = []
        self.chunk = chunk
        self.requests: list[LLMRequest] = []
        self.closing = asyncio.Event()
        self._served = ServedApp(
            Starlette(
                routes=[
                    Route("/v1/chat/completions", self._complete, methods=["POST"]),
                    Route(
                        "/openai/deployments/{name}/chat/completions",
                        self._complete,
                        methods=["POST"],
                    ),
                ]
            )
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self._served.url

    @property
    def base(self) -> str:
        """The OpenAI-style ``api_base``: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    async def __aenter__(self) -> FakeLLM:
        await self._served.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.closing.set()
        await self._served.__aexit__(exc_type, exc, tb)

    def _reply(self, prompt: str) -> str:
        if not self.replies:
            return "no scripted completion left"
        reply = self.replies.pop(0)
        return reply(prompt) if callable(reply) else reply

    async def _complete(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.requests.append(
            LLMRequest(request.url.path, dict(request.query_params), dict(request.headers), body)
        )
        kind, amount = self.faults.pop(0) if self.faults else ("", 0.0)
        if kind in ("status", "echo"):
            said = request.headers.get("authorization") or request.headers.get("api-key")
            text = f"bad key {said}" if kind == "echo" else "fault injected"
            return JSONResponse({"error": {"message": text}}, status_code=int(amount))
        text = self._reply(str(body["messages"][-1]["content"]))
        if kind == "json" or not body.get("stream"):
            message = {"role": "assistant", "content": text}
            return JSONResponse({"choices": [{"index": 0, "message": message}]})
        return StreamingResponse(self._events(text, kind, amount), media_type="text/event-stream")

    def _event(self, text: str) -> bytes:
        chunk = {"object": "chat.completion.chunk", "choices": [{"delta": {"content": text}}]}
        return f"data: {json.dumps(chunk)}\n\n".encode()

    async def _events(self, text: str, kind: str, amount: float) -> AsyncIterator[bytes]:
        if kind == "slow":
            await asyncio.sleep(amount)
        if kind == "garbage":
            yield b"data: this is not json\n\n"
            yield b'data: {"choices": []}\n\n'
            yield b": a comment line\n\n"
        limit = int(amount) if kind in ("stall", "cut") else len(text)
        for start in range(0, limit, self.chunk):
            yield self._event(text[start : min(start + self.chunk, limit)])
            await asyncio.sleep(0)
        if kind == "stall":
            await self.closing.wait()
            return
        if kind == "cut":
            raise ConnectionResetError("fault injected: connection dropped mid-stream")
        yield b"data: [DONE]\n\n"
