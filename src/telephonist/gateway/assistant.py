"""`RasaAssistant`: the `Assistant` seam in front of a running Rasa server.

Rasa decides the dialogue; the gateway turns call events into REST messages and Rasa's
answers into speech and call actions. Per call it sends one request at a time, in order
(a request that outlives the caller's timeout still holds the line, so the next message
never overtakes it). It never raises into the call: a Rasa server that is down, slow or
failing gives the caller a short apology and an ``on_error`` report, and the call goes on.
With a ``store``, each call's own state (menu, last question) is kept there, so a call whose
stream is lost resumes with it on any instance. A message Rasa was answering when the stream
was lost has been taken by Rasa all the same: its answer is kept as the call's question, and a
resume here or elsewhere waits for it (within ``timeout``) rather than ask what Rasa is past.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from telephonist.dialogue.assistant import TrackerStore
from telephonist.dialogue.turns import (
    AssistantTurn,
    BargedIn,
    SessionEnd,
    SessionResumed,
    SessionStart,
    Silence,
    UserEvent,
    UserText,
)
from telephonist.errors import ProviderError
from telephonist.gateway.client import PROVIDER, RasaClient
from telephonist.gateway.conversation import Conversation
from telephonist.gateway.own_turns import apology_turn, resumed_turn, silence_turn
from telephonist.gateway.replies import Reply, read_reply
from telephonist.gateway.settings import GatewaySettings
from telephonist.gateway.tracker_state import StatePublisher, TrackerWatch

__all__ = ["ErrorReporter", "RasaAssistant"]

log = logging.getLogger(__name__)

ErrorReporter = Callable[[str, ProviderError], None]
"""Called with the conversation id and the failure, e.g. to publish a call event."""

RESUME_POLL_S = 0.05
"""How often a resume reads the store again while another instance awaits Rasa's answer."""


class RasaAssistant:
    """A bridge to one Rasa server, shared by every call of a process."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        client: RasaClient | None = None,
        ssml_ok: bool = False,
        can_transfer: bool = True,
        on_error: ErrorReporter | None = None,
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        store: TrackerStore | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or RasaClient(settings)
        self.ssml_ok = ssml_ok
        """The TTS takes SSML; otherwise a custom payload's ``ssml`` is spoken as its text."""
        self.can_transfer = can_transfer
        """Transfers are possible (Twilio REST credentials are configured)."""
        self._on_error = on_error
        self._now = now
        self._wall = wall
        """Wall-clock time: an answer's due time is read by other instances."""
        self.store = store
        """Where each call's gateway state is kept between turns (None: in memory only)."""
        self._conversations: dict[str, Conversation] = {}
        self._settling: dict[str, asyncio.Task[None]] = {}
        """Answers to messages of lost streams, still awaited, by conversation."""
        self._watch: TrackerWatch | None = None
        self._warned_ssml = False

    def __repr__(self) -> str:
        return f"RasaAssistant(url={self.settings.url!r})"

    def watch_state(self, publish: StatePublisher) -> None:
        """Report each conversation's Rasa tracker (slots, latest intent) after every turn,
        fetched in the background so no turn waits for it (the inspector uses this)."""
        self._watch = TrackerWatch(self.client, publish)

    async def handle(self, conversation_id: str, event: UserEvent) -> AssistantTurn:
        """Send the event to Rasa (when it is one Rasa should hear) and read the answer."""
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            conversation = self._conversations[conversation_id] = Conversation(conversation_id)
        try:
            turn = await self._handle(conversation, event)
            if not isinstance(event, SessionEnd):
                await self._save(conversation)
            return turn
        except ProviderError as exc:
            self._failed(conversation_id, exc)
            return self._apology(conversation, event)
        except Exception:  # never a crashed call
            log.exception("gateway.internal_error conversation=%s", conversation_id)
            return self._apology(conversation, event)
        finally:
            if isinstance(event, SessionEnd) and event.stream >= conversation.stream:
                self._conversations.pop(conversation_id, None)
                if self._watch is not None:
                    self._watch.forget(conversation_id)

    async def _handle(self, conversation: Conversation, event: UserEvent) -> AssistantTurn:
        settings = self.settings
        if isinstance(event, BargedIn):  # told to Rasa with the caller's next message
            conversation.interrupted = {"heard": event.heard_text, "full": event.full_text}
            return AssistantTurn()
        if isinstance(event, SessionStart):
            conversation.start(event.metadata)
            if settings.start_message is None:
                return AssistantTurn()
            return await self._say(conversation, settings.start_message, "call")
        if isinstance(event, SessionResumed):
            return await self._resumed(conversation, event)
        if isinstance(event, SessionEnd):
            if event.stream < conversation.stream:  # a lost stream ending after its successor
                return AssistantTurn()
            if settings.end_message is not None and not event.resumable:
                metadata = conversation.metadata_for("call", reason=event.reason)
                await self._ask(conversation, settings.end_message, metadata)
            return AssistantTurn()
        if isinstance(event, Silence):
            if settings.silence_message is None:
                return silence_turn(settings.phrases, conversation.last_turn, event.consecutive)
            silence = {"consecutive": event.consecutive}
            return await self._say(conversation, settings.silence_message, "call", silence=silence)
        return await self._user_text(conversation, event)

    async def _resumed(self, conversation: Conversation, event: SessionResumed) -> AssistantTurn:
        """The call is back on a new stream: the stored menu and question, an apology and the
        question again (or Rasa's answer to ``resume_message``); a call never started here
        before starts now."""
        settling = self._settling.get(conversation.sender)
        if settling is not None:  # the lost stream's message: its answer is what to ask
            await asyncio.wait({settling})
        stored = None if self.store is None else await self._stored(conversation.sender)
        if stored is None and conversation.last_turn is None:
            return await self._handle(conversation, SessionStart(event.metadata))
        conversation.start(event.metadata)
        conversation.stream = event.stream
        if stored is not None:
            conversation.restore(stored)
        if self.settings.resume_message is not None:
            resumed = {"stream": event.stream}
            return await self._say(
                conversation, self.settings.resume_message, "call", resumed=resumed
            )
        return resumed_turn(self.settings.phrases, conversation.last_turn)

    async def _stored(self, sender: str) -> dict[str, Any] | None:
        """The call's stored state, once no answer from Rasa is due to another instance (it
        lost the stream while Rasa answered; a dead one's answer is waited for until due, and
        never longer than ``timeout``, whatever another instance's clock says)."""
        assert self.store is not None
        latest = self._wall() + self.settings.timeout
        while True:
            stored = await asyncio.to_thread(self.store.load, sender)
            due = None if stored is None else stored.get("answer_due")
            until = min(due, latest) if isinstance(due, int | float) else 0.0
            wait = until - self._wall()
            if not wait > 0:  # NaN too
                return stored
            await asyncio.sleep(min(RESUME_POLL_S, wait))

    async def _save(self, conversation: Conversation) -> None:
        """Keep the call's state in the store when it changed (a worker thread writes it)."""
        if self.store is None:
            return
        state = conversation.to_dict()
        if state == conversation.saved:
            return
        try:
            await asyncio.to_thread(self.store.save, conversation.sender, state)
        except Exception as exc:  # the call goes on; only a resume would miss this turn
            log.warning(
                "gateway.state_not_saved conversation=%s: %s", conversation.sender, repr(exc)[:200]
            )
            return
        conversation.saved = state

    async def _user_text(self, conversation: Conversation, event: UserText) -> AssistantTurn:
        choice = conversation.choice_for(event.text, keyed=event.source == "dtmf")
        extra: dict[str, Any] = {}
        if event.confidence is not None:
            extra["confidence"] = event.confidence
        if choice is None:
            return await self._say(conversation, event.text, event.source, **extra)
        extra["button"] = {"title": choice.title, "key": choice.key, "heard": event.text}
        return await self._say(conversation, choice.payload, event.source, **extra)

    async def _say(
        self, conversation: Conversation, message: str, source: str, **extra: Any
    ) -> AssistantTurn:
        answer = await self._ask(conversation, message, conversation.metadata_for(source, **extra))
        return self._answered(conversation, answer)

    def _answered(self, conversation: Conversation, answer: list[Any]) -> AssistantTurn:
        """Rasa's answer as a turn; its menu and question become the call's."""
        phrases = self.settings.phrases
        reply = read_reply(
            answer,
            press=phrases.press,
            ssml_ok=self.ssml_ok,
            can_transfer=self.can_transfer,
            no_transfer=phrases.no_transfer,
        )
        self._note(conversation.sender, reply)
        if reply.turn.messages:
            conversation.choices = reply.choices
            conversation.last_turn = reply.turn
        if self._watch is not None:
            self._watch.refresh(conversation.sender)
        return reply.turn

    def _note(self, sender: str, reply: Reply) -> None:
        """Log what of Rasa's answer could not be done as asked (and report a transfer that
        is not possible as an error)."""
        if reply.problems:
            log.warning(
                "gateway.payload_ignored conversation=%s: %s", sender, "; ".join(reply.problems)
            )
        if reply.transfer_refused:
            self._failed(
                sender,
                ProviderError(
                    PROVIDER,
                    "transfer needs twilio_account_sid and an auth token; the caller was told",
                    retryable=False,
                ),
            )
        if reply.ssml_dropped and not self._warned_ssml:
            self._warned_ssml = True
            log.warning(
                "gateway.ssml_spoken_as_text: the configured TTS cannot take SSML; "
                "custom ssml payloads are spoken as their text (use tts: azure)"
            )

    async def _ask(
        self, conversation: Conversation, message: str, metadata: dict[str, Any]
    ) -> list[Any]:
        """Rasa's answer within the timeout; a later answer is logged and dropped."""
        began = self._now()
        timeout = self.settings.timeout
        lock = conversation.in_flight
        if lock.locked():
            try:
                await asyncio.wait_for(lock.acquire(), timeout)
            except TimeoutError:
                raise ProviderError(
                    PROVIDER,
                    f"the previous message is still unanswered after {timeout:g} s",
                    retryable=True,
                ) from None
        else:
            await lock.acquire()
        request = asyncio.create_task(self._post(conversation, message, metadata))
        try:
            done, _ = await asyncio.wait({request}, timeout=timeout - (self._now() - began))
        except asyncio.CancelledError:  # the stream was lost; Rasa has the message all the same
            self._keep_answer(conversation, request, began)
            raise
        if not done:
            request.add_done_callback(partial(self._late, conversation.sender, began))
            raise ProviderError(PROVIDER, f"no answer within {timeout:g} s", retryable=True)
        return request.result()

    def _keep_answer(
        self, conversation: Conversation, request: asyncio.Task[list[Any]], began: float
    ) -> None:
        """Keep Rasa's answer to a lost stream's message as the call's question (what a
        resume asks), in the background; without a store no resume can use it."""
        if self.store is None:
            request.add_done_callback(partial(self._late, conversation.sender, began))
            return
        within = max(0.0, self.settings.timeout - (self._now() - began))
        conversation.answer_due = self._wall() + within
        sender = conversation.sender
        task = asyncio.create_task(self._settle(conversation, request, within, began))
        self._settling[sender] = task
        task.add_done_callback(
            lambda done: (
                self._settling.pop(sender, None) if self._settling.get(sender) is done else None
            )
        )

    async def _settle(
        self,
        conversation: Conversation,
        request: asyncio.Task[list[Any]],
        within: float,
        began: float,
    ) -> None:
        await self._save(conversation)  # other instances now wait for the answer
        try:
            async with asyncio.timeout(within):
                answer = await asyncio.shield(request)
        except Exception as exc:  # no answer in time, or a failure: the question stays
            if not request.done():
                request.add_done_callback(partial(self._late, conversation.sender, began))
            log.warning(
                "gateway.lost_stream_answer_missing conversation=%s: %s",
                conversation.sender,
                type(exc).__name__,
            )
        else:
            self._answered(conversation, answer)
            log.info("gateway.lost_stream_answer_kept conversation=%s", conversation.sender)
        conversation.answer_due = None
        await self._save(conversation)

    async def _post(
        self, conversation: Conversation, message: str, metadata: dict[str, Any]
    ) -> list[Any]:
        try:
            return await self.client.send(conversation.sender, message, metadata)
        finally:
            conversation.in_flight.release()

    def _late(self, sender: str, began: float, request: asyncio.Task[list[Any]]) -> None:
        after = self._now() - began
        if request.cancelled():
            return
        failure = request.exception()
        if failure is not None:
            log.warning(
                "gateway.late_failure conversation=%s after %.1f s: %s", sender, after, failure
            )
        else:
            log.warning(
                "gateway.late_answer_dropped conversation=%s after %.1f s (%d bot "
                "messages not spoken)",
                sender,
                after,
                len(request.result()),
            )

    def _apology(self, conversation: Conversation, event: UserEvent) -> AssistantTurn:
        if isinstance(event, SessionEnd | BargedIn):  # nobody waits for an answer
            return AssistantTurn()
        return apology_turn(self.settings.phrases, conversation.last_turn)

    def _failed(self, conversation_id: str, exc: ProviderError) -> None:
        log.warning(
            "gateway.rasa_failed conversation=%s retryable=%s: %s",
            conversation_id,
            exc.retryable,
            exc,
        )
        if self._on_error is not None:
            try:
                self._on_error(conversation_id, exc)
            except Exception:
                log.exception("gateway.error_report_failed conversation=%s", conversation_id)

    async def close(self) -> None:
        """Stop background work (answers of lost streams still due are awaited, within the
        timeout) and close the connection pool."""
        if self._settling:
            await asyncio.wait(set(self._settling.values()))
        if self._watch is not None:
            await self._watch.aclose()
        await self.client.aclose()
        if self.store is not None:
            await asyncio.to_thread(self.store.close)
