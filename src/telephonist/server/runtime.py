"""Everything a running server shares between calls, assembled once at start-up."""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from telephonist.call.clock import Clock, SystemClock
from telephonist.call.events import EventBus
from telephonist.call.session import CallSession
from telephonist.call.settings import CallSettings
from telephonist.call.transport import CallControl
from telephonist.config.channel import ChannelConfig
from telephonist.dialogue.turns import Assistant
from telephonist.recording import Recorder
from telephonist.server.idle import IdleConnections
from telephonist.server.prewarm import Prewarmer
from telephonist.server.resume import Resumes
from telephonist.server.stream_end import StreamEnd
from telephonist.speech.asr.base import ASRProvider
from telephonist.speech.tts.base import TTSEngine
from telephonist.speech.vad.base import VADModel
from telephonist.speech.vad.batcher import VADBatcher
from telephonist.stores.base import Ledger
from telephonist.stores.memory import MemoryLedger
from telephonist.turn.scorer import TurnScorer
from telephonist.twilio.signature import SignatureChecker
from telephonist.twilio.token import StreamTokens, claim_key

__all__ = ["Runtime"]


@dataclass
class Runtime:
    """Shared state of one server process."""

    channel: ChannelConfig
    settings: CallSettings
    assistant: Assistant
    asr: ASRProvider
    tts: TTSEngine
    vad: VADModel
    clock: Clock = field(default_factory=SystemClock)
    events: EventBus = field(default_factory=EventBus)
    call_control: CallControl | None = None
    tokens: StreamTokens | None = None
    signatures: SignatureChecker | None = None
    sessions: dict[str, CallSession] = field(default_factory=dict)
    stream_ends: WeakKeyDictionary[CallSession, StreamEnd] = field(
        default_factory=WeakKeyDictionary
    )
    """Each live call's end on purpose, for the server to mark when it stops."""
    batch_vad: bool = True
    """Score all calls' audio in shared VAD inferences (when the model supports it)."""
    vad_batcher: VADBatcher | None = None
    turn_scorer: TurnScorer | None = None
    """The end-of-turn model shared by every call (``turn.model``); None: silence alone
    ends a turn."""
    prewarmer: Prewarmer | None = None
    claim: Callable[[str, float], bool] | None = None
    """``claim_once`` of a store shared by every instance: stream tokens then stay
    single-use across instances, not only within this process."""
    claimed: Callable[[str], bool] | None = None
    """``claimed`` of the same store: whether a call this process answered started its
    stream elsewhere (another worker), so it need not wait for it."""
    recordings: Recorder | None = None
    """Call recordings and transcripts (the channel's ``recording:`` block)."""
    draining: bool = False
    """Shutting down gracefully: no new calls (webhook and /health answer 503), while the
    calls in progress go on."""
    idle: IdleConnections = field(default_factory=IdleConnections)
    """Connections that have not shown a request or a start yet; the oldest makes room."""
    ledger: Ledger | None = None
    """The store's `Ledger` (how each stream of a call began and ended); with ``resume``
    on, a private one when none is given."""
    resumes: Resumes | None = None
    """Resuming calls after a lost stream (``resume`` in the channel block), else None."""
    _settled_at: float = field(default=-math.inf, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.tokens is None:
            # Wall time in production, so instances sharing a secret agree on expiry; an
            # injected (virtual) clock drives them in tests.
            now = time.time if isinstance(self.clock, SystemClock) else self.clock.now
            secret = self.channel.stream_token_secret
            self.tokens = StreamTokens(
                secret.encode() if secret else secrets.token_bytes(32),
                self.channel.stream_token_ttl,
                now,
            )
        if self.vad_batcher is None and self.batch_vad and self.vad.capabilities.batched:
            self.vad_batcher = VADBatcher(self.vad)
        if self.prewarmer is None and self.channel.prewarm:
            self.prewarmer = Prewarmer(
                self.asr, self.settings.language, self.channel.stream_token_ttl, self.clock
            )
        if self.recordings is None and self.channel.recording.enabled:
            self.recordings = Recorder(self.channel.recording, self.events)
        secret = self.channel.stream_token_secret
        if self.resumes is None and self.channel.resume.enabled and secret:
            ledger = self.ledger if self.ledger is not None else MemoryLedger()
            self.resumes = Resumes(self.channel.resume, secret.encode(), ledger)
        if self.signatures is None and self.channel.checks_signatures:
            assert self.channel.twilio_auth_token is not None
            self.signatures = SignatureChecker(self.channel.twilio_auth_token)

    async def settle_pending(self) -> None:
        """Forget the calls answered here whose stream (the first, or a resumed call's next)
        started on another instance or worker (a draining or busy process would otherwise
        count them until their token expires).
        At most once a second: a busy server's webhook asks before checking the caller."""
        now = self.clock.now()
        if self.claimed is None or self.tokens is None or now < self._settled_at + 1.0:
            return
        self._settled_at = now
        for call_sid, stream in self.tokens.pending_streams():
            try:
                async with asyncio.timeout(1.0):
                    key = claim_key(call_sid, stream)
                    elsewhere = await asyncio.to_thread(self.claimed, key)
            except Exception:  # the store cannot say now: keep counting the call
                return
            if elsewhere:
                self.tokens.forget(call_sid)

    async def close(self) -> None:
        """Release what the shared parts hold (HTTP clients, databases, worker threads). Every
        part is closed even if another fails; a failure is raised once all are done."""
        async with contextlib.AsyncExitStack() as parts:  # closed in reverse order
            if self.vad_batcher is not None:
                parts.callback(self.vad_batcher.close)
            if self.turn_scorer is not None:
                parts.callback(self.turn_scorer.close)
            if self.recordings is not None:
                parts.push_async_callback(self.recordings.aclose)
            parts.push_async_callback(self.tts.aclose)
            parts.push_async_callback(self.asr.aclose)
            parts.push_async_callback(self.assistant.close)
            if self.prewarmer is not None:  # its streams go before their provider
                parts.push_async_callback(self.prewarmer.close)
