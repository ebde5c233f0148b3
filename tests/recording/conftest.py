"""Recordings are tested against our real server and the simulator: reuse their fixtures."""

from __future__ import annotations

from tests.server.conftest import Served, serve, silero

__all__ = ["Served", "serve", "silero"]
