"""`run_on_loop`: uvloop when installed, asyncio's own loop on request."""

from __future__ import annotations

import asyncio

import pytest

from telephonist.server.serve import run_on_loop


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_auto_and_uvloop_run_on_uvloop() -> None:
    pytest.importorskip("uvloop", reason="uvloop is not installed")
    assert run_on_loop(loop_module()).startswith("uvloop")
    assert run_on_loop(loop_module(), "uvloop").startswith("uvloop")


def test_asyncio_runs_on_asyncios_own_loop() -> None:
    assert run_on_loop(loop_module(), "asyncio").startswith("asyncio")
