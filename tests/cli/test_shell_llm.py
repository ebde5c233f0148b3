"""`telephonist shell` on a project whose flows only a model can start: the real command in
a child process, its model a fake OpenAI-compatible server answering scripted commands."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

from tests.fakes.openai_server import FakeLLM

PROJECT = Path(__file__).parent.parent / "llm" / "projects" / "parcel_line"


async def test_shell_drives_a_calm_project_through_the_model(tmp_path: Path) -> None:
    """Typed lines go to the model; its commands run the flows; the shell prints what the
    model said, the bot's answers and the hang-up; the key comes from the environment."""
    project = tmp_path / "parcel_line"
    shutil.copytree(PROJECT, project)
    replies = [
        "start flow track_parcel",
        "set slot parcel_id ZX81",
        "I am not sure what you mean",
        "start flow goodbye",
    ]
    async with FakeLLM(replies) as llm:
        environ = {**os.environ, "PARCEL_LLM_BASE": llm.base, "PARCEL_LLM_KEY": "shell-key"}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "telephonist",
            "shell",
            str(project),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environ,
        )
        script = b"where is my parcel\nit's zed x eight one\nhmm\nbye\n"
        out, err = await asyncio.wait_for(process.communicate(script), 60)
    assert process.returncode == 0, err.decode()
    lines = [line for line in out.decode().splitlines() if not line.startswith("[call ")]
    assert [line for line in lines if not line.startswith("[llm ")] == [
        "bot> Parcel line, how can I help?",
        "bot> What is the tracking number?",
        "bot> Parcel ZX81 is at the depot.",
        "bot> Is there anything else I can help you with?",
        "bot> I'm sorry, I didn't quite understand that. Could you rephrase?",
        "bot> Thanks for calling the parcel line.",
        "[hang up]",
    ]
    reports = [line for line in lines if line.startswith("[llm ")]
    assert len(reports) == 4
    assert reports[0].endswith(" ms: start flow track_parcel]")
    assert reports[2].endswith(" ms empty: cannot handle]")
    assert all(r.headers["authorization"] == "Bearer shell-key" for r in llm.requests)
    assert "shell-key" not in out.decode() + err.decode()
