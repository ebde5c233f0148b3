"""Building a `Runtime` from a project directory: credentials.yml, endpoints.yml, the
assistant and the speech providers. Every check runs here, before the port opens."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telephonist.call.events import EventBus, TtsEngineFailed
from telephonist.call.settings import CallSettings
from telephonist.config.channel import CHANNEL, ChannelConfig, parse_channel
from telephonist.config.yamlfile import load_yaml
from telephonist.dialogue.assistant import ProjectAssistant
from telephonist.dialogue.domain_loader import read_endpoints
from telephonist.dialogue.project import read_project
from telephonist.dialogue.source import Problems, load_document
from telephonist.dialogue.turns import Assistant
from telephonist.errors import ConfigError, ProviderError
from telephonist.llm import build_generator
from telephonist.server.gateway_setup import build_gateway, gateway_settings
from telephonist.server.runtime import Runtime
from telephonist.speech.asr.base import ASRProvider
from telephonist.speech.registry import ProviderContext, build_asr
from telephonist.speech.tts.base import TTSEngine
from telephonist.speech.tts.cache import CachedTTS
from telephonist.speech.tts.fallback import FallbackTTS, TTSFailure
from telephonist.speech.vad.base import VADModel
from telephonist.stores import ConversationStore, open_store
from telephonist.turn.scorer import TurnBatcher, TurnScorer
from telephonist.turn.smart_turn import SmartTurnModel, find_model
from telephonist.twilio.rest import TwilioCallControl

__all__ = [
    "Paths",
    "build_runtime",
    "load_channel",
    "speech_for_channel",
    "tracker_store_spec",
    "unshared_store_error",
    "warm_up",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Paths:
    """Where a server's files are."""

    project: Path
    credentials: Path | None = None
    endpoints: Path | None = None

    @property
    def credentials_file(self) -> Path:
        """``--credentials`` or the project's credentials.yml."""
        return self.credentials or self.project / "credentials.yml"

    @property
    def endpoints_file(self) -> Path:
        """``--endpoints`` or the project's endpoints.yml."""
        return self.endpoints or self.project / "endpoints.yml"


def load_channel(paths: Paths, environ: Mapping[str, str]) -> ChannelConfig:
    """The validated ``twilio_media_streams`` block of the credentials file."""
    file = paths.credentials_file
    if not file.is_file():
        raise ConfigError(
            "not found; the twilio_media_streams channel needs a credentials "
            "file (see `telephonist init`)",
            file=str(file),
        )
    data = load_yaml(file, environ)
    if CHANNEL not in data:
        raise ConfigError("has no twilio_media_streams block", file=str(file), key=CHANNEL)
    return parse_channel(data[CHANNEL], file=str(file), environ=environ)


def _vad(channel: ChannelConfig, context: ProviderContext) -> VADModel:
    """The ``vad`` block's engine; it checks its own keys (``model_path`` and the like)."""
    if channel.vad.name == "energy":
        from telephonist.speech.vad import energy

        return energy.from_config(dict(channel.vad.engine), context)
    from telephonist.speech.vad import silero

    return silero.from_config(dict(channel.vad.engine), context)


def _tts(channel: ChannelConfig, context: ProviderContext, events: EventBus) -> TTSEngine:
    def failed(failure: TTSFailure) -> None:
        events.publish(
            TtsEngineFailed(
                source="tts",
                engine=failure.engine,
                message=failure.message,
                retryable=failure.retryable,
                next_engine=failure.next_engine,
            )
        )

    chain = FallbackTTS.from_blocks(channel.tts, context, on_failure=failed)
    engine: TTSEngine = chain.engines[0][1] if len(chain.engines) == 1 else chain
    return CachedTTS(engine)


def speech_for_channel(
    channel: ChannelConfig,
    paths: Paths,
    environ: Mapping[str, str],
    language: str,
    phrases: tuple[str, ...] = (),
    events: EventBus | None = None,
) -> tuple[ASRProvider, TTSEngine, VADModel]:
    """The channel's ASR, TTS and VAD, each block checked (models load later, on warm-up);
    raises `ConfigError` naming the first bad key or missing API key variable."""
    file = str(paths.credentials_file)
    asr = build_asr(
        channel.asr, ProviderContext(file, f"{CHANNEL}.asr", environ, language, phrases)
    )
    tts = _tts(
        channel,
        ProviderContext(file, f"{CHANNEL}.tts", environ, language, phrases),
        events or EventBus(),
    )
    vad = _vad(channel, ProviderContext(file, f"{CHANNEL}.vad", environ))
    return asr, tts, vad


def _project_assistant(
    paths: Paths, environ: Mapping[str, str]
) -> tuple[Assistant, str, tuple[str, ...], ConversationStore]:
    """The built-in engine for the project: the assistant, its language, its NLU examples
    (to bias speech recognition) and its store."""
    # ``--endpoints FILE`` replaces endpoints.yml whole: FILE is checked and read, not merged
    project, problems = read_project(paths.project, paths.endpoints, environ)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(
            "the assistant project has problems:\n  " + "\n  ".join(str(p) for p in errors),
            file=str(paths.project),
        )
    for warning in problems:
        log.warning("project.warning: %s", warning)
    store = open_store(project.endpoints.tracker_store or None, paths.project)
    try:
        assistant = ProjectAssistant(  # imports an actions_module
            project, store, commands=build_generator(project, environ)
        )
    except ConfigError:
        store.close()
        raise
    return assistant, project.language, project.nlu_examples(), store


def tracker_store_spec(paths: Paths, environ: Mapping[str, str]) -> Any:
    """The ``tracker_store`` block of the endpoints file (None when absent: SQLite)."""
    file = paths.endpoints_file
    if not file.is_file():
        return None
    problems = Problems()
    endpoints = read_endpoints(load_document(file, str(file), problems, environ), problems)
    if problems.errors:
        raise ConfigError("\n  ".join(str(p) for p in problems.errors))
    return endpoints.tracker_store or None


def _gateway_store(paths: Paths, environ: Mapping[str, str]) -> ConversationStore:
    """For a gateway whose calls resume (or run in several workers): the ``tracker_store``
    of endpoints.yml (SQLite by default), which keeps each call's own state (menu, last
    question), the ledger and the stream claims."""
    return open_store(tracker_store_spec(paths, environ), paths.project)


def unshared_store_error(paths: Paths) -> ConfigError:
    """Several workers need a store they all share (its claims keep stream tokens single-use
    and its ledger resumes calls on any of them)."""
    return ConfigError(
        "a memory store is private to one process, but several workers (--workers or "
        "twilio_media_streams.workers) must share one: use sqlite (the default), redis or "
        "postgresql",
        file=str(paths.endpoints_file),
        key="tracker_store.type",
    )


def build_runtime(
    paths: Paths, environ: Mapping[str, str], *, rasa_url: str | None = None, workers: int = 1
) -> Runtime:
    """Everything the server needs; raises `ConfigError` for the first invalid file or key.
    With ``rasa_url`` or an ``assistant:`` block in endpoints.yml, a Rasa server answers.
    With ``workers`` > 1 (this is one of them), the store must be shared by processes."""
    channel = load_channel(paths, environ)
    events = EventBus()
    call_control = None
    if channel.twilio_account_sid and channel.twilio_auth_token:
        call_control = TwilioCallControl(
            channel.twilio_account_sid, channel.twilio_auth_token, api_base=channel.twilio_api_base
        )
    gateway = gateway_settings(paths.endpoints_file, environ, rasa_url)
    store: ConversationStore | None = None
    if gateway is None:
        assistant, language, phrases, store = _project_assistant(paths, environ)
    else:  # Rasa keeps the conversations; no prompt biasing without its NLU data
        if channel.resume.enabled or workers > 1:  # the calls' own state, and the claims
            store = _gateway_store(paths, environ)
        assistant = build_gateway(
            gateway, channel, events, can_transfer=call_control is not None, store=store
        )
        language, phrases = gateway.language, ()
    claims = store.claims if store is not None else None
    if workers > 1 and claims is None:
        if store is not None:
            store.close()
        raise unshared_store_error(paths)
    asr, tts, vad = speech_for_channel(channel, paths, environ, language, phrases, events)
    settings = CallSettings.from_channel(channel, language, vad.capabilities.threshold)
    return Runtime(
        turn_scorer=_turn_scorer(channel, str(paths.credentials_file)),
        channel=channel,
        settings=settings,
        assistant=assistant,
        asr=asr,
        tts=tts,
        vad=vad,
        events=events,
        call_control=call_control,
        claim=claims.claim_once if claims is not None else None,
        claimed=claims.claimed if claims is not None else None,
        ledger=store.ledger if store is not None else None,
    )


def _turn_scorer(channel: ChannelConfig, file: str) -> TurnScorer | None:
    """The end-of-turn model (``turn.model``), shared by every call; its file must be
    installed (it is verified and loaded by `warm_up`)."""
    if not channel.turn.uses_model:
        return None
    try:
        path = find_model()
    except ConfigError as exc:
        raise ConfigError(str(exc), file=file, key=f"{CHANNEL}.turn.model") from exc
    return TurnBatcher(SmartTurnModel(path), max_cpu=channel.turn.max_cpu)


async def warm_up(runtime: Runtime) -> None:
    """Load models and open connections before the first call. A provider that cannot reach
    its service now is logged and retried by the first call; a model that cannot load stops
    start-up."""
    if runtime.turn_scorer is not None:
        await runtime.turn_scorer.warm_up()
    for part, provider in (("asr", runtime.asr), ("tts", runtime.tts)):
        try:
            await provider.warm_up()
        except ProviderError as exc:
            log.warning("provider.warm_up_failed %s: %s", part, exc)
