"""`telephonist check` of the channel's own file: the ``twilio_media_streams`` block of
credentials.yml and its ASR, TTS and VAD blocks, as `telephonist run` will read them, and the
end-of-turn model's file when ``turn.model`` names one (installed, and the file it expects)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from telephonist.errors import ConfigError

__all__ = ["check_channel"]


def check_channel(project: Path, language: str, emit: Callable[[str], None]) -> tuple[int, int]:
    """Errors and warnings found (each printed): a bad key is an error; no credentials.yml
    is a warning, as ``shell`` needs none."""
    from telephonist.config.channel import CHANNEL
    from telephonist.server.assembly import Paths, load_channel, speech_for_channel
    from telephonist.turn.smart_turn import verify_installed

    paths = Paths(project)
    if not paths.credentials_file.is_file():
        emit(
            f"{paths.credentials_file}: not found; `telephonist run` needs it "
            "(see `telephonist init`) (warning)"
        )
        return 0, 1
    try:
        channel = load_channel(paths, os.environ)
        speech_for_channel(channel, paths, os.environ, language)
        if channel.turn.uses_model:
            try:
                verify_installed()
            except ConfigError as exc:
                raise ConfigError(
                    str(exc), file=str(paths.credentials_file), key=f"{CHANNEL}.turn.model"
                ) from exc
    except ConfigError as exc:
        emit(str(exc))
        return 1, 0
    return 0, 0
