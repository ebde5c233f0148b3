"""Building a `Runtime` from a project directory: credentials.yml, endpoints.yml, the
assistant and the speech providers. Every check runs here, before the port opens."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telephonist.call.events import CallEvent, EventBus, EventKind
from telephonist.call.settings import CallSettings
from telephonist.config.channel import CHANNEL, ChannelConfig, parse_channel
from telephonist.config.yamlfile import load_yaml
from telephonist.dialogue.assistant import ProjectAssistant
from telephonist.dialogue.project import check_project, load_project
from telephonist.errors import ConfigError
from telephonist.llm import build_generator
from telephonist.server.runtime import Runtime
from telephonist.speech.registry import ProviderContext, build_asr
from telephonist.speech.tts.base import TTSEngine
from telephonist.speech.tts.cache import CachedTTS
from telephonist.speech.tts.fallback import FallbackTTS, TTSFailure
from telephonist.speech.vad.base import VADModel
from telephonist.stores import open_store
from telephonist.twilio.rest import TwilioCallControl

__all__ = ["Paths", "build_runtime", "load_channel", "warm_up"]

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
            CallEvent(
                EventKind.ERROR,
                "",
                0.0,
                {
                    "source": "tts",
                    "engine": failure.engine,
                    "message": failure.message,
                    "retryable": failure.retryable,
                    "next_engine": failure.next_engine,
                },
            )
        )

    chain = FallbackTTS.from_blocks(channel.tts, context, on_failure=failed)
    engine: TTSEngine = chain.engines[0][1] if len(chain.engines) == 1 else chain
    return CachedTTS(engine)


def build_runtime(paths: Paths, environ: Mapping[str, str]) -> Runtime:
    """Everything the server needs; raises `ConfigError` for the first invalid file or key."""
    channel = load_channel(paths, environ)
    problems = check_project(paths.project)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(
            "the assistant project has problems:\n  " + "\n  ".join(str(p) for p in errors),
            file=str(paths.project),
        )
    for warning in problems:
        log.warning("project.warning: %s", warning)
    project = load_project(paths.project)
    endpoints: dict[str, Any] = {}
    if paths.endpoints is not None:
        endpoints = load_yaml(paths.endpoints, environ)
    store_spec = endpoints.get("tracker_store", project.endpoints.tracker_store) or None
    action = endpoints.get("action_endpoint")
    action_url = action.get("url") if isinstance(action, Mapping) else None
    store = open_store(store_spec, paths.project)
    assistant = ProjectAssistant(
        project, store, action_endpoint=action_url, commands=build_generator(project, environ)
    )
    file = str(paths.credentials_file)
    phrases = project.nlu_examples()
    events = EventBus()
    asr = build_asr(
        channel.asr, ProviderContext(file, f"{CHANNEL}.asr", environ, project.language, phrases)
    )
    tts = _tts(
        channel, ProviderContext(file, f"{CHANNEL}.tts", environ, project.language, phrases), events
    )
    call_control = None
    if channel.twilio_account_sid and channel.twilio_auth_token:
        call_control = TwilioCallControl(
            channel.twilio_account_sid, channel.twilio_auth_token, api_base=channel.twilio_api_base
        )
    vad = _vad(channel, ProviderContext(file, f"{CHANNEL}.vad", environ))
    settings = CallSettings.from_channel(
        channel, project.language, getattr(vad, "suggested_threshold", 0.5)
    )
    return Runtime(
        channel=channel,
        settings=settings,
        assistant=assistant,
        asr=asr,
        tts=tts,
        vad=vad,
        events=events,
        call_control=call_control,
        claim=getattr(store, "claim_once", None),
    )


async def warm_up(runtime: Runtime) -> None:
    """Load models before the first call (providers may define ``async warm_up()``)."""
    for provider in (runtime.asr, runtime.tts):
        warm = getattr(provider, "warm_up", None)
        if warm is not None:
            await warm()
