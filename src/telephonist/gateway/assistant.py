"""`RasaAssistant`: the `Assistant` seam in front of a running Rasa server.

Rasa decides the dialogue; the gateway turns call events into REST messages and Rasa's
answers into speech and call actions. Per call it sends one request at a time, in order
(a request that outlives the caller's timeout still holds the line, so the next message
never overtakes it). It never raises into the call: a Rasa server that is down, slow or
failing gives the caller a short apology and an ``on_error`` report, and the call goes on.
With a ``store``, each call's own state (menu, last question) is kept there, so a call whose
stream is lost resumes with it on any instance.
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
    BotMessage,
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
from telephonist.gateway.replies import Reply, read_reply
from telephonist.gateway.settings import GatewaySettings
from telephonist.gateway.tracker_state import StatePublisher, TrackerWatch

__all__ = ["ErrorReporter", "RasaAssistant"]

log = logging.getLogger(__name__)

ErrorReporter = Callable[[str, ProviderError], None]
"""Called with the conversation id and the failure, e.g. to publish a call event."""


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
        self.store = store
        """Where each call's gateway state is kept between turns (None: in memory only)."""
        self._conversations: dict[str, Conversation] = {}
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
                return self._silence_turn(conversation, event.consecutive)
            silence = {"consecutive": event.consecutive}
            return await self._say(conversation, settings.silence_message, "call", silence=silence)
        return await self._user_text(conversation, event)

    async def _resumed(self, conversation: Conversation, event: SessionResumed) -> AssistantTurn:
        """The call is back on a new stream: the stored menu and question, an apology and the
        question again (or Rasa's answer to ``resume_message``); a call never started here
        before starts now."""
        stored = None
        if self.store is not None:
            stored = await asyncio.to_thread(self.store.load, conversation.sender)
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
        last = conversation.last_turn
        apology = BotMessage(self.settings.phrases.resumed)
        if last is None:
            return AssistantTurn(messages=(apology,))
        return AssistantTurn(  # the question again, as secret as it was; a goodbye ends it
            messages=(apology, *last.messages),
            collect_dtmf=last.collect_dtmf,
            silence_timeout=last.silence_timeout,
            sensitive=last.sensitive,
            hang_up=last.hang_up,
        )

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
        finally:
            if not request.done():
                request.add_done_callback(partial(self._late, conversation.sender, began))
        if not done:
            raise ProviderError(PROVIDER, f"no answer within {timeout:g} s", retryable=True)
        return request.result()

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

    def _silence_turn(self, conversation: Conversation, consecutive: int) -> AssistantTurn:
        """What the built-in engine's ``pattern_user_silence`` does: repeat the last bot
        message, then ask whether the caller is still there, then say goodbye and hang up."""
        phrases = self.settings.phrases
        last = conversation.last_turn
        if consecutive >= 3:
            return AssistantTurn(messages=(BotMessage(phrases.goodbye),), hang_up=True)
        collect = last.collect_dtmf if last is not None else None
        sensitive = last is not None and last.sensitive  # the question is still open
        if consecutive <= 1 and last is not None:
            return AssistantTurn(
                messages=last.messages,
                collect_dtmf=collect,
                silence_timeout=last.silence_timeout,
                sensitive=sensitive,
            )
        return AssistantTurn(
            messages=(BotMessage(phrases.still_there),), collect_dtmf=collect, sensitive=sensitive
        )

    def _apology(self, conversation: Conversation, event: UserEvent) -> AssistantTurn:
        """A short apology; the caller may answer the last question again (keys included)."""
        if isinstance(event, SessionEnd | BargedIn):
            return AssistantTurn()
        last = conversation.last_turn
        return AssistantTurn(
            messages=(BotMessage(self.settings.phrases.apology),),
            collect_dtmf=last.collect_dtmf if last is not None else None,
            sensitive=last is not None and last.sensitive,
        )

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
        """Stop background work and close the connection pool."""
        if self._watch is not None:
            await self._watch.aclose()
        await self.client.aclose()
        if self.store is not None:
            await asyncio.to_thread(self.store.close)
