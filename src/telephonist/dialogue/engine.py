"""The dialogue engine: one user event in, one assistant turn out. Sync and pure.

``Engine.begin(tracker, event)`` returns a :class:`Run`. When ``run.pending_action`` is set,
a custom action must be executed by the caller (see ``assistant.py``), its result given to
``Engine.resume``; ``Engine.finish`` then builds the :class:`AssistantTurn`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from telephonist.dialogue.commands import Command, as_text
from telephonist.dialogue.defaults import DEFAULT_INTENTS
from telephonist.dialogue.executor import Executor, Run
from telephonist.dialogue.model import CollectStep
from telephonist.dialogue.nlu import Interpreter, ParsedMessage
from telephonist.dialogue.project import Project
from telephonist.dialogue.tracker import Tracker
from telephonist.dialogue.turns import (
    AssistantTurn,
    BargedIn,
    BotMessage,
    CollectDtmf,
    SessionEnd,
    SessionResumed,
    SessionStart,
    Silence,
    UserEvent,
    UserText,
)
from telephonist.dialogue.understanding import Understanding

__all__ = ["Engine"]


class Engine:
    """Runs one project's flows for any number of conversations (state lives in trackers)."""

    def __init__(
        self,
        project: Project,
        interpreter: Interpreter | None = None,
        *,
        transfer_number: str | None = None,
        has_action_server: bool = False,
        now: Callable[[], float] = time.time,
        seed: int | None = None,
    ) -> None:
        self.project = project
        self.interpreter = interpreter or Interpreter(
            project.nlu,
            project.config.fallback_threshold,
            project.cache_dir,
            (*project.domain.intents, *DEFAULT_INTENTS),
        )
        self.now = now
        self.executor = Executor(
            project,
            transfer_number or project.config.transfer_number,
            now,
            random.Random(seed),
            has_action_server,
        )
        self.understanding = Understanding(self.executor, project.config)
        self.sensitive_slots = frozenset(
            step.slot
            for flow in project.flows.values()
            for step in flow.steps
            if isinstance(step, CollectStep) and step.sensitive
        )
        """Slots that collect answers to sensitive questions: hidden in state snapshots."""

    def new_tracker(self, conversation_id: str) -> Tracker:
        """A tracker with every slot at its initial value."""
        slots = {name: slot.initial_value for name, slot in self.project.domain.slots.items()}
        return Tracker(conversation_id, slots)

    def begin(
        self,
        tracker: Tracker,
        event: UserEvent,
        commands: Sequence[Command] | None = None,
        parsed: ParsedMessage | None = None,
    ) -> Run:
        """Apply ``event`` and run flows until the assistant waits (or needs an action).

        ``commands``: what a command generator made of a ``UserText`` (see ``commands``);
        they replace the built-in NLU's decision about the message. ``parsed``: the NLU's
        reading of it, when the caller already has one.
        """
        run = Run(tracker)
        now = self.now()
        if (
            isinstance(event, UserText | Silence | SessionResumed)
            and tracker.stack
            and self.executor.code_changed(tracker)
        ):
            tracker.stack.clear()
            self.executor.push(run, "pattern_code_change")
            self.executor.advance(run)
            return run
        if isinstance(event, SessionStart):
            self.session_start(run, dict(event.metadata))
        elif isinstance(event, SessionResumed):
            self.session_resumed(run, event)
        elif isinstance(event, UserText):
            self.user_text(run, event, commands, parsed)
        elif isinstance(event, Silence):
            tracker.record({"event": "silence", "consecutive": event.consecutive}, now)
            tracker.set_slot("consecutive_silence_timeouts", float(event.consecutive), now)
            self.executor.push(run, "pattern_user_silence")
        elif isinstance(event, SessionEnd):
            tracker.record({"event": "session_end", "reason": event.reason}, now)
            self.executor.push(run, "pattern_session_end")
        elif isinstance(event, BargedIn):
            tracker.record(
                {
                    "event": "user_barge_in",
                    "heard_text": event.heard_text,
                    "full_text": event.full_text,
                },
                now,
            )
            return run
        self.executor.advance(run)
        return run

    def resume(
        self,
        run: Run,
        events: list[dict[str, Any]],
        responses: list[dict[str, Any]],
    ) -> Run:
        """Continue after the custom action the run was waiting for."""
        self.executor.apply_action_result(run, events, responses)
        self.executor.advance(run)
        return run

    def action_failed(self, run: Run) -> Run:
        """The custom action could not run: say the internal-error pattern instead."""
        self.executor.internal_error(run)
        self.executor.advance(run)
        return run

    def session_start(self, run: Run, metadata: dict[str, Any]) -> None:
        """New call: forget flows (and slots unless carried over), greet."""
        tracker, now = run.tracker, self.now()
        tracker.stack.clear()
        if tracker.events and not self.project.domain.carry_over_slots:
            for name, slot in self.project.domain.slots.items():
                tracker.slots[name] = slot.initial_value
        tracker.record({"event": "session_start", "metadata": metadata}, now)
        tracker.set_slot("session_started_metadata", metadata, now)
        tracker.set_slot("consecutive_silence_timeouts", 0.0, now)
        self.executor.push(run, "pattern_session_start")

    def session_resumed(self, run: Run, event: SessionResumed) -> None:
        """The call came back on a new stream: flows and slots stay as they were; apologise
        and repeat the last words (a call that never got that far is greeted instead)."""
        tracker, now = run.tracker, self.now()
        if not tracker.events:
            self.session_start(run, dict(event.metadata))
            return
        ending = self.ending(tracker)
        tracker.record({"event": "session_resumed", "stream": event.stream}, now)
        tracker.set_slot("consecutive_silence_timeouts", 0.0, now)
        self.executor.push(run, "pattern_session_resumed")
        if ending is not None:  # the goodbye (or hand-over) is said again, then carried out
            self.executor.advance(run)
            if ending.get("event") == "transfer" and ending.get("to"):
                run.transfer_to = str(ending["to"])
            else:
                run.hang_up = True

    @staticmethod
    def ending(tracker: Tracker) -> dict[str, Any] | None:
        """The bot's hang-up this call had decided (the session keeps it, whatever follows),
        or the transfer its last turn decided, when the stream was lost before either was
        carried out: the resumed call must still end, or be handed over."""
        caller_since = False  # a transfer followed by the caller's words did not move the call
        for record in reversed(tracker.events):
            kind = record.get("event")
            if kind == "session_start":
                return None
            caller_since = caller_since or kind in ("user", "silence")
            metadata = record.get("metadata") or {}
            hung_up = kind == "session_ended" and metadata.get("_reason") == "bot disconnected"
            if hung_up or (kind == "transfer" and not caller_since):
                return dict(record)
        return None

    def user_text(
        self,
        run: Run,
        event: UserText,
        commands: Sequence[Command] | None = None,
        parsed: ParsedMessage | None = None,
    ) -> None:
        """Understand the message (or take a generator's ``commands`` for it) and apply it."""
        tracker, now = run.tracker, self.now()
        if event.source == "dtmf":
            parsed = ParsedMessage(event.text, None, 0.0)
        elif parsed is None:
            parsed = self.interpreter.parse(event.text)
        tracker.latest_message = parsed.as_dict()
        if commands is not None:  # as Rasa keeps them in parse_data
            tracker.latest_message["commands"] = [as_text(c) for c in commands]
        tracker.record(
            {
                "event": "user",
                "text": event.text,
                "source": event.source,
                "confidence": event.confidence,
                "parse_data": dict(tracker.latest_message),
            },
            now,
        )
        tracker.set_slot("consecutive_silence_timeouts", 0.0, now)
        if commands is not None:
            self.understanding.commands.apply(run, commands)
        else:
            self.understanding.handle(run, parsed, event.source)

    def finish(self, run: Run) -> AssistantTurn:
        """Build the turn for the channel and remember what was said (for repeats).

        A message that says exactly what the one before it said is dropped: a flow that
        ends by offering more help, followed by pattern_completed, or a rejection that
        repeats the question, would otherwise be heard twice in a row.
        """
        tracker = run.tracker
        run.messages[:] = [
            m
            for i, m in enumerate(run.messages)
            if i == 0 or m["text"] != run.messages[i - 1]["text"]
        ]
        if run.messages and not run.repeated:
            tracker.last_bot_messages = [dict(m) for m in run.messages]
        if run.hang_up or run.ended or run.transfer_to:
            tracker.stack.clear()  # the caller leaves the assistant
        dtmf, timeout = self.waiting_collect(tracker)
        return AssistantTurn(
            messages=tuple(
                BotMessage(
                    m["text"],
                    m.get("ssml"),
                    m.get("voice"),
                    bool(m.get("allow_interruptions", True)),
                )
                for m in run.messages
            ),
            hang_up=run.hang_up,
            transfer_to=run.transfer_to,
            collect_dtmf=dtmf,
            silence_timeout=timeout,
            state=tracker.snapshot(self.sensitive_slots),
            sensitive=(step := self.waiting_step(tracker)) is not None and step.sensitive,
        )

    def waiting_step(self, tracker: Tracker) -> CollectStep | None:
        """The collect step whose question is being asked, if any."""
        frame = tracker.top
        if frame is None or frame.state != "waiting" or frame.step_id is None:
            return None
        step = self.project.flows[frame.flow_id].step(frame.step_id)
        return step if isinstance(step, CollectStep) else None

    def waiting_collect(self, tracker: Tracker) -> tuple[CollectDtmf | None, float | None]:
        """Keypad buffering and the silence timeout for the question being asked, if any."""
        slot_timeout = tracker.slots.get("silence_timeout")
        timeout = float(slot_timeout) if isinstance(slot_timeout, int | float) else None
        step = self.waiting_step(tracker)
        if step is None:
            return None, timeout
        dtmf = None
        if step.dtmf is not None:
            dtmf = CollectDtmf(step.dtmf.length, step.dtmf.finish_on_key)
        return dtmf, step.silence_timeout if step.silence_timeout is not None else timeout

    def handle(self, tracker: Tracker, event: UserEvent) -> AssistantTurn:
        """Synchronous one-shot for projects without custom actions (tests, benchmarks)."""
        run = self.begin(tracker, event)
        if run.pending_action is not None:
            run = self.action_failed(run)
        return self.finish(run)
