"""The ``twilio_media_streams:`` block of credentials.yml.

It takes the brief's keys unchanged (``server_url``, ``asr``, ``tts``, ``monitor_silence``,
``username``, ``password``) plus ours, below. Unknown keys are errors, so a typo never
silently disables a feature. Secrets may come from the environment instead of the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telephonist.config.keys import reject_unknown as _unknown
from telephonist.config.limits import Limits, parse_limits
from telephonist.config.phrases import CallPhrases, parse_phrases
from telephonist.config.recording import RecordingSettings, parse_recording
from telephonist.config.redaction import shown
from telephonist.config.resume import ResumeSettings, parse_resume
from telephonist.config.turn import TurnSettings, parse_turn
from telephonist.config.workers import parse_workers
from telephonist.errors import ConfigError

__all__ = [
    "DEFAULT_BACKCHANNELS",
    "DEFAULT_RESUME_AFTER_MS",
    "DEFAULT_SILENCE_TIMEOUT",
    "ChannelConfig",
    "InterruptionSettings",
    "VADSettings",
    "normalise_server_url",
    "parse_channel",
]

CHANNEL = "twilio_media_streams"
DEFAULT_SILENCE_TIMEOUT = 7.0
"""Seconds of caller silence before ``pattern_user_silence``. Rasa's code uses 30 s; on a
phone line half a minute of dead air makes callers hang up, so we default to 7 s."""


DEFAULT_RESUME_AFTER_MS = 600
DEFAULT_BACKCHANNELS = (
    "mm-hm",
    "mm-hmm",
    "mm hmm",
    "mhm",
    "mm",
    "mmm",
    "hm",
    "hmm",
    "uh-huh",
    "uh huh",
    "yeah",
    "yep",
    "yes",
    "okay",
    "ok",
    "right",
    "sure",
    "alright",
    "all right",
    "i see",
)


@dataclass(frozen=True)
class InterruptionSettings:
    """Barge-in: caller speech over bot audio stops the bot."""

    enabled: bool = True
    min_speech_ms: int = 200
    """Caller speech must last this long before it interrupts (filters coughs and clicks;
    Silero already ignores tones, DTMF and noise, so a short minimum is safe)."""
    min_words: int = 0
    """When > 0, also wait for this many recognised words (needs an ASR with partials)."""
    resume_after_ms: int = DEFAULT_RESUME_AFTER_MS
    """Sound without words stops the bot only on hold: once the caller has been quiet this
    long and no words (or only backchannels) were recognised, the bot resumes its message.
    0 turns holding off: every barge-in stops the bot for good."""
    backchannels: tuple[str, ...] = DEFAULT_BACKCHANNELS
    """What a listener says to show they are listening: heard over the bot, such words neither
    stop it nor reach the assistant (with ``resume_after_ms`` > 0)."""


@dataclass(frozen=True)
class VADSettings:
    """Voice activity detection on caller audio."""

    name: str = "silero"
    threshold: float | None = None
    """Speech probability threshold; None takes the model's own suggestion (0.5 for Silero
    at 8 kHz, lower for the 16 kHz fallback model)."""
    min_silence_ms: int = 500
    """Silence that ends an utterance (the turn's end-of-speech delay) when no turn model
    judges it (``turn: {model: none}``); with one, ``turn.pause_ms`` is the pause instead."""
    engine: tuple[tuple[str, Any], ...] = ()
    """The block's other keys, for the engine itself to check (silero: ``model_path``;
    energy: ``silence_dbfs``, ``speech_dbfs``, ``window_ms``)."""


@dataclass(frozen=True)
class ChannelConfig:
    """A validated ``twilio_media_streams`` block."""

    server_url: str
    asr: Mapping[str, Any]
    tts: tuple[Mapping[str, Any], ...]
    monitor_silence: bool = False
    silence_timeout: float = DEFAULT_SILENCE_TIMEOUT
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_account_sid: str | None = None
    twilio_api_base: str | None = None
    validate_signature: bool = True
    stream_token_ttl: float = 60.0
    stream_token_secret: str | None = field(default=None, repr=False)
    """Shared by every instance behind one load balancer, so a stream landing on another
    instance than its webhook is accepted; None: a random secret per process."""
    prewarm: bool = True
    """Open the ASR stream when an authenticated webhook is answered."""
    dtmf_timeout: float = 3.0
    interruptions: InterruptionSettings = InterruptionSettings()
    vad: VADSettings = VADSettings()
    turn: TurnSettings = field(default_factory=TurnSettings)
    """When the caller's turn ends (``turn:``; `telephonist.config.turn`)."""
    limits: Limits = field(default_factory=Limits)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    resume: ResumeSettings = field(default_factory=ResumeSettings)
    """A call whose stream is lost comes back on a new one (needs the shared secret)."""
    workers: int | None = None
    """Processes ``telephonist run`` serves the port from (``--workers`` wins); None: one."""
    phrases: CallPhrases = field(default_factory=CallPhrases)
    """What the call says on its own (``phrases:``; `telephonist.config.phrases`)."""

    @property
    def checks_signatures(self) -> bool:
        """Signatures are checked when enabled and an auth token is known."""
        return self.validate_signature and bool(self.twilio_auth_token)


_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?$")


def normalise_server_url(value: str, *, file: str) -> str:
    """``host[:port][/prefix]`` from a bare host or a pasted http(s)/ws(s) URL."""
    url = value.strip()
    lowered = url.lower()
    for scheme in ("https://", "http://", "wss://", "ws://"):
        if lowered.startswith(scheme):
            url = url[len(scheme) :]
            break
    url = url.rstrip("/")
    if not url or not _HOST.match(url) or "//" in url:
        raise ConfigError(
            f"{shown(value, 'server_url')} is not a host name like 'example.ngrok.app'",
            file=file,
            key=f"{CHANNEL}.server_url",
        )
    return url


def _typed(
    block: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    default: Any,
    file: str,
    prefix: str = CHANNEL,
) -> Any:
    value = block.get(key, default)
    if value is None:
        return default
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        where = f"{prefix}.{key}"
        raise ConfigError(f"must be a {name}, got {shown(value, where)}", file=file, key=where)
    return value


def _interruptions(value: Any, file: str) -> InterruptionSettings:
    prefix = f"{CHANNEL}.interruptions"
    if value is None:
        return InterruptionSettings()
    if isinstance(value, bool):
        return InterruptionSettings(enabled=value)
    if not isinstance(value, Mapping):
        raise ConfigError("must be a mapping or true/false", file=file, key=prefix)
    keys = {"enabled", "min_speech_ms", "min_words", "resume_after_ms", "backchannels"}
    _unknown(value, keys, file, prefix)
    settings = InterruptionSettings(
        enabled=_typed(value, "enabled", bool, True, file, prefix),
        min_speech_ms=_typed(value, "min_speech_ms", int, 200, file, prefix),
        min_words=_typed(value, "min_words", int, 0, file, prefix),
        resume_after_ms=_typed(
            value, "resume_after_ms", int, DEFAULT_RESUME_AFTER_MS, file, prefix
        ),
        backchannels=_backchannels(value.get("backchannels"), file, f"{prefix}.backchannels"),
    )
    for key in ("min_speech_ms", "min_words", "resume_after_ms"):
        if getattr(settings, key) < 0:
            raise ConfigError("must be >= 0", file=file, key=f"{prefix}.{key}")
    return settings


def _backchannels(value: Any, file: str, key: str) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_BACKCHANNELS
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(
            'must be a list of words or phrases (e.g. ["mm-hm", "yeah"]; [] for none)',
            file=file,
            key=key,
        )
    return tuple(v.strip() for v in value)


def _vad(value: Any, file: str) -> VADSettings:
    prefix = f"{CHANNEL}.vad"
    if value is None:
        return VADSettings()
    if not isinstance(value, Mapping):
        raise ConfigError("must be a mapping", file=file, key=prefix)
    common = {"name", "threshold", "min_silence_ms"}
    settings = VADSettings(
        name=_typed(value, "name", str, "silero", file, prefix),
        threshold=_typed(value, "threshold", float, None, file, prefix),
        min_silence_ms=_typed(value, "min_silence_ms", int, 500, file, prefix),
        engine=tuple((str(k), v) for k, v in value.items() if k not in common),
    )
    if settings.name not in ("silero", "energy"):
        raise ConfigError("must be 'silero' or 'energy'", file=file, key=f"{prefix}.name")
    if settings.threshold is not None and not 0.0 < settings.threshold < 1.0:
        raise ConfigError("must be between 0 and 1", file=file, key=f"{prefix}.threshold")
    return settings


def _speech_block(value: Any, key: str, file: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
        raise ConfigError(
            "must be a mapping with a 'name' (e.g. {name: local})",
            file=file,
            key=f"{CHANNEL}.{key}",
        )
    return value


_KEYS = {
    "server_url",
    "asr",
    "tts",
    "monitor_silence",
    "username",
    "password",
    "silence_timeout",
    "twilio_auth_token",
    "twilio_account_sid",
    "twilio_api_base",
    "validate_signature",
    "stream_token_ttl",
    "stream_token_secret",
    "dtmf_timeout",
    "interruptions",
    "vad",
    "turn",
    "prewarm",
    "limits",
    "recording",
    "resume",
    "workers",
    "phrases",
}


def parse_channel(block: Any, *, file: str, environ: Mapping[str, str]) -> ChannelConfig:
    """Validate the block; raises `ConfigError` naming file and key for the first problem."""
    if not isinstance(block, Mapping):
        raise ConfigError("must be a mapping", file=file, key=CHANNEL)
    _unknown(block, _KEYS, file, CHANNEL)
    for required in ("server_url", "asr", "tts"):
        if block.get(required) in (None, ""):
            raise ConfigError("is required", file=file, key=f"{CHANNEL}.{required}")
    tts_value = block["tts"]
    tts_blocks = tts_value if isinstance(tts_value, list) else [tts_value]
    if not tts_blocks:
        raise ConfigError("must name at least one engine", file=file, key=f"{CHANNEL}.tts")
    username = _typed(block, "username", str, None, file)
    password = _typed(block, "password", str, None, file)
    if bool(username) != bool(password):
        raise ConfigError(
            "username and password must be given together (or neither)",
            file=file,
            key=f"{CHANNEL}.{'password' if username else 'username'}",
        )
    token_secret = (
        _typed(block, "stream_token_secret", str, None, file)
        or environ.get("TELEPHONIST_STREAM_TOKEN_SECRET")
        or None
    )
    if token_secret is not None and len(token_secret) < 32:
        raise ConfigError(
            "must be at least 32 characters (e.g. `openssl rand -hex 32`)",
            file=file,
            key=f"{CHANNEL}.stream_token_secret",
        )
    silence_timeout = _typed(block, "silence_timeout", float, DEFAULT_SILENCE_TIMEOUT, file)
    if silence_timeout < 0:
        raise ConfigError("must be >= 0", file=file, key=f"{CHANNEL}.silence_timeout")
    return ChannelConfig(
        server_url=normalise_server_url(_typed(block, "server_url", str, "", file), file=file),
        asr=_speech_block(block["asr"], "asr", file),
        tts=tuple(
            _speech_block(b, f"tts[{i}]" if len(tts_blocks) > 1 else "tts", file)
            for i, b in enumerate(tts_blocks)
        ),
        monitor_silence=_typed(block, "monitor_silence", bool, False, file),
        silence_timeout=silence_timeout,
        username=username or None,
        password=password or None,
        twilio_auth_token=_typed(block, "twilio_auth_token", str, None, file)
        or environ.get("TWILIO_AUTH_TOKEN")
        or None,
        twilio_account_sid=_typed(block, "twilio_account_sid", str, None, file)
        or environ.get("TWILIO_ACCOUNT_SID")
        or None,
        twilio_api_base=_typed(block, "twilio_api_base", str, None, file),
        validate_signature=_typed(block, "validate_signature", bool, True, file),
        stream_token_ttl=_typed(block, "stream_token_ttl", float, 60.0, file),
        stream_token_secret=token_secret,
        prewarm=_typed(block, "prewarm", bool, True, file),
        dtmf_timeout=_typed(block, "dtmf_timeout", float, 3.0, file),
        interruptions=_interruptions(block.get("interruptions"), file),
        vad=_vad(block.get("vad"), file),
        turn=parse_turn(block.get("turn"), file=file, key=f"{CHANNEL}.turn"),
        limits=parse_limits(block.get("limits"), file=file),
        recording=parse_recording(block.get("recording"), file=file),
        resume=parse_resume(
            block.get("resume"),
            has_secret=token_secret is not None,
            file=file,
            key=f"{CHANNEL}.resume",
        ),
        workers=parse_workers(block.get("workers"), file=file, key=f"{CHANNEL}.workers"),
        phrases=parse_phrases(block.get("phrases"), file=file, key=f"{CHANNEL}.phrases"),
    )
