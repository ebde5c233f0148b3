"""The LLM command generator: prompt → streamed completion → Rasa commands, within a
phone's patience.

Each line of the answer becomes commands the moment it is complete, so what the model has
said by the deadline (the generator's ``timeout``, 3 s by default) is acted on: a slow
model that has already written ``start flow transfer_money`` still starts the flow, and
one that has said nothing makes the turn ``pattern_cannot_handle``. A stream that breaks
keeps its complete lines. The first model of the group is asked; when it fails before
answering, the next one is (within the same deadline). Nothing here raises into a call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

import httpx

from telephonist.dialogue.llm_context import PromptContext
from telephonist.dialogue.llm_settings import GeneratorSettings
from telephonist.dialogue.llm_turn import Generated
from telephonist.dialogue.project import Project
from telephonist.errors import ProviderError
from telephonist.llm.client import ChatClient
from telephonist.llm.command_text import CommandReader, admissible
from telephonist.llm.prompt import PromptBuilder

__all__ = ["LLMCommandGenerator", "build_generator"]

logger = logging.getLogger(__name__)


class LLMCommandGenerator:
    """Implements the dialogue's ``CommandGenerator`` over HTTP; one per assistant."""

    def __init__(
        self,
        settings: GeneratorSettings,
        environ: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.perf_counter,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._http = http or httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=20))
        self.clients = [ChatClient(m, environ, self._http) for m in settings.models]
        self.prompt = PromptBuilder(settings.prompt_template)

    async def generate(self, context: PromptContext) -> Generated:
        """Ask the model about the message in ``context``; never raises."""
        started = self.clock()
        try:
            prompt = self.prompt.render(context)
        except Exception as exc:  # a project's template may fail in any way; never the call
            logger.error(
                "llm.prompt_failed conversation=%s template=%s error=%s",
                context.conversation_id,
                self.settings.prompt_file or "built-in",
                exc,
            )
            return Generated((), "error", 0.0)
        reader = CommandReader()
        outcome, model = "timeout", self.clients[0].name
        try:
            async with asyncio.timeout(self.settings.timeout):
                outcome, model = await self._ask(prompt, reader, context.conversation_id)
        except TimeoutError:
            pass
        commands, invalid = admissible(reader.commands, context)
        if outcome == "ok" and not commands:
            outcome = "empty"
        latency = round((self.clock() - started) * 1000, 1)
        log = logger.debug if outcome == "ok" else logger.warning
        log(
            "llm.commands conversation=%s model=%s outcome=%s latency_ms=%.0f commands=%d "
            "unparsed_lines=%d invalid=%d",
            context.conversation_id,
            model,
            outcome,
            latency,
            len(commands),
            reader.unparsed,
            invalid,
        )
        return Generated(tuple(commands), outcome, latency, reader.unparsed, invalid, model)

    async def _ask(self, prompt: str, reader: CommandReader, conversation: str) -> tuple[str, str]:
        """Stream from the first model that answers; ``(outcome, model)``."""
        for client in self.clients:
            try:
                async for text in client.stream(prompt):
                    reader.feed(text)
                reader.finish()
                return "ok", client.name
            except ProviderError as exc:
                logger.warning("llm.request_failed conversation=%s error=%s", conversation, exc)
                if reader.received:  # it had started answering: keep its complete lines
                    return "cut", client.name
        return "error", self.clients[-1].name

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


def build_generator(
    project: Project, environ: Mapping[str, str], http: httpx.AsyncClient | None = None
) -> LLMCommandGenerator | None:
    """The project's command generator, or None when config.yml configures none. Raises
    ConfigError when a ``${VAR}`` its model settings name is not set."""
    if project.llm is None:
        return None
    return LLMCommandGenerator(project.llm, environ, http=http)
