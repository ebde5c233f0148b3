"""A scripted end-of-turn scorer: the probabilities a test chooses, answered at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from telephonist.errors import ProviderError
from telephonist.turn.scorer import TurnScore, TurnScorerBusy


@dataclass
class ScriptedScorer:
    """A `TurnScorer` answering ``probabilities`` in order (the last one repeats); None in the
    script fails that score, ``"busy"`` refuses it (the CPU budget is spent)."""

    probabilities: list[float | str | None] = field(default_factory=lambda: [0.9])
    clips: list[bytes] = field(default_factory=list)
    """Every clip asked about, in order."""
    asked: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event | None = None
    """When given, each answer waits until it is set (a slow model)."""
    closed: bool = False

    async def warm_up(self) -> None:
        """Nothing to load."""

    async def score(self, clip: bytes) -> TurnScore:
        """The next scripted probability for ``clip``."""
        index = min(len(self.clips), len(self.probabilities) - 1)
        self.clips.append(clip)
        self.asked.set()
        if self.gate is not None:
            await self.gate.wait()
        probability = self.probabilities[index]
        if probability is None:
            raise ProviderError("turn", "scripted failure", retryable=True)
        if isinstance(probability, str):
            raise TurnScorerBusy()
        return TurnScore(probability, 1.5)

    def close(self) -> None:
        """Record the call."""
        self.closed = True
