"""The caller's words, held until the end-of-turn rule says the turn is over.

With a turn model, the recogniser may finish an utterance before we do: Deepgram's own
endpointer fires on a mid-sentence pause the model judged incomplete, or the local engine
cuts a very long utterance. Such a `Final` is held while the turn is open and joined, in
order, with what follows, so the assistant hears the turn once ("I'd like to book" + "a
table for two").

When the turn ends, the recogniser is asked for the rest (Deepgram ``Finalize``, the local
engine's end of utterance) and its answer closes the turn: the held words and the answer go
to the assistant together. An engine that answers every utterance (``cuts_at_vad_edges``)
is waited for up to `ANSWER_WAIT_MS` of caller audio; one that may have nothing left to say
(a cloud engine whose endpointer already gave every word) for `QUIET_ANSWER_WAIT_MS`; the
held words then go alone. A cloud engine's words that came during the final pause itself
(its endpointer fired after the caller's last speech, before our pause was long enough to
judge) cover the whole turn: they go as soon as it ends.

Until an ended turn's words reach the assistant, the turn is not over for the caller: if they
speak again meanwhile (a pause the model judged complete, but the recogniser was still at
work), the turn is reopened and its words go with what follows, as for a pause judged
incomplete. The bot then answers once, and never a half sentence it would have to talk over.

Words that stop mid-sentence ("Please enter your", "I'd like to...": `telephonist.turn.unfinished`)
are not over either, whatever the model heard: they *linger* until ``unfinished_wait_ms``
after the pause began, and speech meanwhile reopens their turn in the same way. The caller who
was thinking is not cut off; the one who really stopped there waits that long at most.

Sans-I/O: positions are milliseconds of caller audio.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field

from telephonist.turn.unfinished import sounds_unfinished

__all__ = ["ANSWER_WAIT_MS", "QUIET_ANSWER_WAIT_MS", "SPEECH_END_SLACK_MS", "HeldFinals", "Said"]

ANSWER_WAIT_MS = 10_000.0
"""How long an engine that answers every utterance may take (a loaded machine is slow)."""
QUIET_ANSWER_WAIT_MS = 1_000.0
"""How long to wait for a cloud engine's answer to the end of a turn."""
SPEECH_END_SLACK_MS = 100.0
"""Words that came this close before the VAD's end of speech still cover the whole turn (the
VAD dates the end a little late; a caller who spoke on says more than this)."""


@dataclass(frozen=True, slots=True)
class Said:
    """A turn's words, for the assistant."""

    text: str
    confidence: float | None
    sentence_end: float | None = None
    """The recogniser's probability that a sentence ends where ``text`` ends (`Final`);
    None for words joined from several finals."""


@dataclass
class _Turn:
    words: list[Said] = field(default_factory=list)
    whole: bool = False
    """The held words came during the current pause: nothing was said after them."""
    until_ms: float = 0.0
    """After this position the recogniser's answer is no longer awaited."""
    last_final_ms: float | None = None
    """How much caller audio had been received when the last held words came."""
    paused_from_ms: float | None = None
    """Where the pause that ended the turn began."""

    def said(self, more: Said | None = None) -> Said | None:
        words = [*self.words, more] if more is not None and more.text else self.words
        if not words:
            return None
        known = [w.confidence for w in words if w.confidence is not None]
        # A part after a pause was read alone: how surely it ends a sentence says little.
        end = words[0].sentence_end if len(words) == 1 else None
        return Said(" ".join(w.text for w in words), min(known) if known else None, end)


class HeldFinals:
    """One call's held words, and the ended turns whose answer is awaited (in order)."""

    def __init__(
        self,
        *,
        unfinished_wait_ms: float = 0.0,
        unfinished_words: Collection[str] = (),
        unfinished_below: float = 0.0,
    ) -> None:
        """``unfinished_wait_ms``: how long after its pause began an ended turn whose words
        stop mid-sentence (a last word in ``unfinished_words``, a sentence end less likely
        than ``unfinished_below``) lingers; 0: never."""
        self.answers_each_turn = False
        """The recogniser answers every end of turn (the local engine)."""
        self.punctuated = False
        """The recogniser ends every whole sentence with a stop (`ASRCapabilities`)."""
        self.lingered = 0
        """How many times words began to linger (the judge reports each)."""
        self._unfinished_wait_ms = unfinished_wait_ms
        self._unfinished_words = frozenset(unfinished_words)
        self._unfinished_below = unfinished_below
        self._open = _Turn()
        self._ended: deque[_Turn] = deque()
        self._lingering: _Turn | None = None

    @property
    def awaiting(self) -> bool:
        """Ended turns still wait for the recogniser's answer, or their words linger."""
        return bool(self._ended) or self._lingering is not None

    @property
    def lingering_from_ms(self) -> float | None:
        """Where the pause of the turn whose words linger began (None: none lingers)."""
        return None if self._lingering is None else self._lingering.paused_from_ms

    def final(
        self,
        text: str,
        confidence: float | None,
        *,
        turn_open: bool,
        paused: bool = False,
        at_ms: float | None = None,
        sentence_end: float | None = None,
    ) -> Said | None:
        """A final transcript (``text`` may be empty; ``sentence_end``: `Final`'s): what goes
        to the assistant now, if anything. It answers the oldest ended turn that awaits one;
        else, while a turn is open (``paused``: in a pause being judged), it is held; else it
        is a turn of its own."""
        said = Said(text, confidence, sentence_end)
        if self._ended:
            turn = self._ended.popleft()
            return self._settle(turn, turn.said(said), at_ms)
        if turn_open:
            if text:
                self._open.words.append(said)
                self._open.whole = paused and not self.answers_each_turn
                self._open.last_final_ms = at_ms
            return None
        if not text:
            return None
        lingering, self._lingering = self._lingering, None
        return said if lingering is None else lingering.said(said)

    def reopen(self) -> bool:
        """The caller spoke again before the last ended turn's words reached the assistant:
        that turn is the open one again (True), and the recogniser's answer to its end is
        held with what follows. False when every ended turn was answered."""
        if self._open.words:
            return False
        if self._ended:
            self._open = self._ended.pop()
        elif self._lingering is not None:
            self._open, self._lingering = self._lingering, None
        else:
            return False
        self._open.until_ms, self._open.whole, self._open.paused_from_ms = 0.0, False, None
        return True

    def resumed(self) -> None:
        """The caller spoke again within the open turn."""
        self._open.whole = False

    def turn_ended(self, position_ms: float, speech_end_ms: float | None = None) -> Said | None:
        """The open turn ended at ``position_ms`` (the caller's speech at ``speech_end_ms``)
        and the recogniser was asked for the rest; its words, if they are known to be all of
        it already: a cloud engine's words that came after the last speech."""
        last = self._open.last_final_ms
        after_speech = (
            speech_end_ms is not None
            and last is not None
            and last >= speech_end_ms - SPEECH_END_SLACK_MS
        )
        self._open.paused_from_ms = speech_end_ms
        if self._open.whole or (after_speech and not self.answers_each_turn):
            turn, self._open = self._open, _Turn()
            return self._settle(turn, turn.said(), position_ms)
        wait = ANSWER_WAIT_MS if self.answers_each_turn else QUIET_ANSWER_WAIT_MS
        self._open.until_ms = position_ms + wait
        self._ended.append(self._open)
        self._open = _Turn()
        return None

    def due(self, position_ms: float) -> list[Said]:
        """Words that lingered until ``position_ms``, and those of ended turns whose answer
        did not come by then."""
        out: list[Said] = []
        lingering = self._lingering
        if lingering is not None and lingering.until_ms <= position_ms:
            self._lingering = None
            said = lingering.said()
            if said is not None:
                out.append(said)
        while self._ended and self._ended[0].until_ms <= position_ms:
            said = self._ended.popleft().said()
            if said is not None:
                out.append(said)
        return out

    def _settle(self, turn: _Turn, said: Said | None, at_ms: float | None) -> Said | None:
        """An ended turn's words, complete: they go now (returned, after any that linger),
        or linger if they stop mid-sentence and the wait since the pause is not over."""
        before = self._lingering
        if before is not None:  # older words go first, or with these
            self._lingering = None
            said = before.said(said)
        if said is None:
            return None
        start = turn.paused_from_ms
        if self._unfinished_wait_ms <= 0 or at_ms is None or start is None:
            return said
        until = start + self._unfinished_wait_ms
        unfinished = sounds_unfinished(
            said.text,
            self._unfinished_words,
            punctuated=self.punctuated,
            sentence_end=said.sentence_end,
            sentence_end_below=self._unfinished_below,
        )
        if at_ms >= until or not unfinished:
            return said
        turn.words, turn.until_ms, turn.whole = [said], until, False
        self._lingering = turn
        self.lingered += 1
        return None
