"""`telephonist check` for a project that puts a Rasa server on the phone: validate the
``assistant:`` block (or ``--rasa-url``) and the channel's credentials.yml, and ask the
server whether it answers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from telephonist.cli.check_channel import check_channel
from telephonist.errors import ConfigError, ProviderError

if TYPE_CHECKING:  # the client (aiohttp) loads only when a Rasa server is checked
    from telephonist.gateway import GatewaySettings

__all__ = ["check_gateway"]


async def _probe(settings: GatewaySettings, emit: Callable[[str], None]) -> bool:
    """``GET /`` (always there) and ``GET /status`` (with ``--enable-api``)."""
    from telephonist.gateway import RasaClient

    client = RasaClient(settings)
    try:
        try:
            emit(f"Rasa at {settings.url} answers: {await client.root()}")
        except ProviderError as exc:
            emit(f"Rasa at {settings.url} does not answer: {exc}")
            return False
        try:
            status = await client.status()
            emit(
                f"  model: {status.get('model_file', '?')} (HTTP API enabled: the inspector "
                "shows Rasa's slots and latest intent)"
            )
        except ProviderError as exc:
            emit(f"  {exc}; the inspector cannot show Rasa's dialogue state")
        return True
    finally:
        await client.aclose()


def check_gateway(project: Path, rasa_url: str | None, emit: Callable[[str], None]) -> int | None:
    """The exit code of checking the gateway, or None when the project has its own
    assistant (no ``assistant:`` block and no ``--rasa-url``)."""
    from telephonist.server.gateway_setup import gateway_settings

    file = project / "endpoints.yml"
    try:
        settings = gateway_settings(file, os.environ, rasa_url)
    except ConfigError as exc:
        emit(str(exc))
        return 1
    if settings is None:
        return None
    emit(f"{file if rasa_url is None else '--rasa-url'}: assistant type rasa: OK")
    channel_errors, _ = check_channel(project, settings.language, emit)
    answers = asyncio.run(_probe(settings, emit))
    return 0 if answers and not channel_errors else 1
