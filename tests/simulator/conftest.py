"""The simulator is tested against our real server: reuse its fixtures."""

from __future__ import annotations

from tests.server.conftest import Served, serve, silero

__all__ = ["Served", "serve", "silero"]
