"""The turns the gateway makes itself, without asking Rasa: on silence, when Rasa cannot
answer, and when a call comes back on a new stream. Each keeps the last question open as it
was (its keys, and whether the answer is secret)."""

from __future__ import annotations

from telephonist.dialogue.turns import AssistantTurn, BotMessage
from telephonist.gateway.settings import Phrases

__all__ = ["apology_turn", "resumed_turn", "silence_turn"]


def silence_turn(phrases: Phrases, last: AssistantTurn | None, consecutive: int) -> AssistantTurn:
    """What the built-in engine's ``pattern_user_silence`` does: repeat the last bot
    message, then ask whether the caller is still there, then say goodbye and hang up."""
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


def apology_turn(phrases: Phrases, last: AssistantTurn | None) -> AssistantTurn:
    """A short apology; the caller may answer the last question again (keys included)."""
    return AssistantTurn(
        messages=(BotMessage(phrases.apology),),
        collect_dtmf=last.collect_dtmf if last is not None else None,
        sensitive=last is not None and last.sensitive,
    )


def resumed_turn(phrases: Phrases, last: AssistantTurn | None) -> AssistantTurn:
    """An apology and the question again, as secret as it was; a goodbye still ends it."""
    apology = BotMessage(phrases.resumed)
    if last is None:
        return AssistantTurn(messages=(apology,))
    return AssistantTurn(
        messages=(apology, *last.messages),
        collect_dtmf=last.collect_dtmf,
        silence_timeout=last.silence_timeout,
        sensitive=last.sensitive,
        hang_up=last.hang_up,
    )
