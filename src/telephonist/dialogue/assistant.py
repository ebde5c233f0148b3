"""``ProjectAssistant``: the async adapter that puts the sync engine behind the Assistant seam.

Per conversation it serialises events with a lock, keeps the tracker hot in memory while the
call lasts, runs custom actions (on the action server, or in-process from the project's
``actions_module``), and saves the tracker to the store in
a worker thread after every turn (the event loop never waits on disk). It never raises into
the channel: any failure becomes ``pattern_internal_error`` and one log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from telephonist.dialogue.action_module import ModuleActions
from telephonist.dialogue.action_server import ActionRunner, ActionServerClient
from telephonist.dialogue.engine import Engine
from telephonist.dialogue.executor import Run
from telephonist.dialogue.llm_turn import NOTHING, CommandGenerator, LLMUnderstanding
from telephonist.dialogue.model import Endpoints
from telephonist.dialogue.patterns import DEFAULT_RESPONSES
from telephonist.dialogue.project import Project
from telephonist.dialogue.tracker import Tracker
from telephonist.dialogue.turns import (
    AssistantTurn,
    BotMessage,
    SessionEnd,
    SessionResumed,
    UserEvent,
)
from telephonist.errors import ProviderError

__all__ = ["ProjectAssistant", "TrackerStore", "action_runner"]

logger = logging.getLogger(__name__)
_FALLBACK_TEXT = DEFAULT_RESPONSES["utter_internal_error_rasa"].variations[0].text


class TrackerStore(Protocol):
    """What the assistant needs from a conversation store (``telephonist.stores``)."""

    def load(self, conversation_id: str) -> dict[str, Any] | None: ...

    def save(self, conversation_id: str, tracker: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def action_runner(project: Project, endpoints: Endpoints) -> ActionRunner | None:
    """Where the project's custom actions run: ``actions_module`` in-process (it wins, as in
    Rasa Pro), else the action server at ``url``, else nowhere."""
    if endpoints.actions_module:
        return ModuleActions.load(
            endpoints.actions_module, project.path, project.domain, endpoints.action_timeout
        )
    if endpoints.action_endpoint:
        return ActionServerClient(
            endpoints.action_endpoint, project.domain, endpoints.action_timeout
        )
    return None


class ProjectAssistant:
    """The built-in dialogue engine for one project, shared by every call of a process."""

    def __init__(
        self,
        project: Project,
        store: TrackerStore,
        endpoints: Endpoints | None = None,
        transfer_number: str | None = None,
        *,
        now: Callable[[], float] = time.time,
        max_hot_conversations: int = 10_000,
        seed: int | None = None,
        commands: CommandGenerator | None = None,
    ) -> None:
        self.project = project
        self.store = store
        self.actions = action_runner(project, endpoints or project.endpoints)
        self.engine = Engine(
            project,
            transfer_number=transfer_number,
            has_action_server=self.actions is not None,
            now=now,
            seed=seed,
        )
        if self.actions is None and project.domain.actions:
            logger.warning(
                "dialogue.no_action_server actions=%s: flows that run them will say the "
                "internal-error response; set action_endpoint.actions_module (Python actions "
                "run in-process) or action_endpoint.url in endpoints.yml",
                ",".join(project.domain.actions),
            )
        # The LLM command generator configured in config.yml (``telephonist.llm`` builds it).
        self.llm = (
            None
            if commands is None or project.llm is None
            else LLMUnderstanding(self.engine, commands, project.llm)
        )
        self._hot: OrderedDict[str, Tracker] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._streams: dict[str, int] = {}
        """Conversations resumed here: their newest stream (an older one's end comes late)."""
        self._max_hot = max_hot_conversations

    async def handle(self, conversation_id: str, event: UserEvent) -> AssistantTurn:
        """Apply one event of a conversation and return what the call should do next."""
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        if isinstance(event, SessionResumed):
            self._streams[conversation_id] = event.stream
        async with lock:
            try:
                return await self._handle(conversation_id, event)
            except Exception:
                logger.exception(
                    "dialogue.internal_error conversation=%s event=%s",
                    conversation_id,
                    type(event).__name__,
                )
                return await self._error_turn(conversation_id)
            finally:
                if isinstance(event, SessionEnd) and self._is_newest(conversation_id, event):
                    self._hot.pop(conversation_id, None)
                    self._locks.pop(conversation_id, None)
                    self._streams.pop(conversation_id, None)

    def _is_newest(self, conversation_id: str, end: SessionEnd) -> bool:
        """Is ``end`` the end of the conversation's newest stream on this process?"""
        return end.stream >= self._streams.get(conversation_id, 0)

    async def _tracker(self, conversation_id: str) -> Tracker:
        tracker = self._hot.get(conversation_id)
        if tracker is None:
            stored = await asyncio.to_thread(self.store.load, conversation_id)
            tracker = (
                Tracker.from_dict(stored)
                if stored is not None
                else self.engine.new_tracker(conversation_id)
            )
            self._hot[conversation_id] = tracker
            while len(self._hot) > self._max_hot:
                self._hot.popitem(last=False)
        self._hot.move_to_end(conversation_id)
        return tracker

    async def _handle(self, conversation_id: str, event: UserEvent) -> AssistantTurn:
        if isinstance(event, SessionEnd) and event.resumable:
            return AssistantTurn()  # the stored tracker stays as it was, for SessionResumed
        tracker = await self._tracker(conversation_id)
        understood = NOTHING if self.llm is None else await self.llm.understand(tracker, event)
        run = self.engine.begin(tracker, event, understood.commands, understood.parsed)
        run = await self._run_actions(run, conversation_id)
        turn = understood.annotate(self.engine.finish(run))
        await asyncio.to_thread(self.store.save, conversation_id, tracker.to_dict())
        return turn

    async def _run_actions(self, run: Run, conversation_id: str) -> Run:
        while run.pending_action is not None:
            name = run.pending_action
            if self.actions is None:
                run = self.engine.action_failed(run)
                continue
            try:
                result = await self.actions.run(name, run.tracker)
            except ProviderError as exc:
                logger.error(
                    "dialogue.action_failed conversation=%s action=%s error=%s",
                    conversation_id,
                    name,
                    exc,
                )
                run.tracker.record(
                    {"event": "action_failed", "name": name, "error": str(exc)}, self.engine.now()
                )
                run = self.engine.action_failed(run)
            else:
                run = self.engine.resume(run, result.events, result.responses)
        return run

    async def _error_turn(self, conversation_id: str) -> AssistantTurn:
        """Say the internal-error pattern; fall back to a fixed sentence if even that fails."""
        try:
            tracker = self._hot.get(conversation_id) or self.engine.new_tracker(conversation_id)
            run = self.engine.action_failed(Run(tracker))
            turn = self.engine.finish(run)
            await asyncio.to_thread(self.store.save, conversation_id, tracker.to_dict())
            return turn
        except Exception:
            logger.exception("dialogue.error_pattern_failed conversation=%s", conversation_id)
            self._hot.pop(conversation_id, None)
            return AssistantTurn(messages=(BotMessage(_FALLBACK_TEXT),))

    async def close(self) -> None:
        """Close the action-server client, the model's connections and the store."""
        if self.actions is not None:
            await self.actions.aclose()
        if self.llm is not None:
            await self.llm.aclose()
        await asyncio.to_thread(self.store.close)
