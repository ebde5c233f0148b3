"""Where a call is in its turn-taking, as one explicit state (like websockets' ``State``)."""

from __future__ import annotations

import enum

__all__ = ["CallState"]


class CallState(enum.Enum):
    """The session's state. The turn loop enters RESPONDING for each event it takes; after
    that turn, and whenever playback drains or the caller stops speaking, one method
    (``CallSession._settle``) decides the next state, arms the silence timer and hangs up.

    ::

        LISTENING ──event──▶ RESPONDING ──turn done──▶ PLAYING ──all heard──▶ LISTENING
                                        └─hang-up────▶ HANGING_UP ──all heard──▶ ENDED

    Caller sound (no words yet) over the bot in RESPONDING, PLAYING or HANGING_UP stops it
    and enters PAUSED; the barge-in's outcome returns to the state it came from (the bot
    resumed, or its message dropped and the barge-in passed on to the assistant).
    """

    LISTENING = "listening"
    """The caller's turn: nothing to say, nothing playing. Silence is timed only here, while
    nothing is queued and the caller is quiet."""
    RESPONDING = "responding"
    """An event is with the assistant, then its answer is spoken."""
    PLAYING = "playing"
    """The answer is sent; the caller has not heard all of it yet (marks are outstanding)."""
    HANGING_UP = "hanging_up"
    """The assistant ended the call (or a transfer was impossible): the bot hangs up as soon as
    everything sent has been heard. Events queued meanwhile are still answered first."""
    PAUSED = "paused"
    """Caller sound stopped the bot (``clear``), but no words yet: the message is kept, the
    assistant told nothing, until words or a key confirm the barge-in or the caller is quiet
    for ``interruptions.resume_after_ms`` and the bot resumes (`telephonist.call.barge_in`).
    Nothing else happens meanwhile: no silence timing, no turn."""
    ENDED = "ended"
    """Over (or being torn down): inputs are ignored and no timer runs."""
