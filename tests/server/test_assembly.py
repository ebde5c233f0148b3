"""build_runtime: the vad block's engine keys reach the engine, which checks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephonist.errors import ConfigError
from telephonist.server.assembly import Paths, build_runtime
from telephonist.speech.vad.energy import EnergyVAD

CREDENTIALS = """twilio_media_streams:
  server_url: "example.com"
  asr: {{name: local}}
  tts: {{name: local}}
  vad: {vad}
"""


def with_vad(project: Path, vad: str) -> Paths:
    (project / "credentials.yml").write_text(CREDENTIALS.format(vad=vad))
    return Paths(project)


async def test_energy_vad_takes_its_levels_from_the_block(project: Path) -> None:
    runtime = build_runtime(with_vad(project, "{name: energy, speech_dbfs: -30}"), {})
    assert isinstance(runtime.vad, EnergyVAD) and runtime.vad.speech_dbfs == -30.0
    await runtime.close()


@pytest.mark.parametrize(
    ("vad", "key", "message"),
    [
        ("{name: energy, level: 3}", "vad.level", "unknown key"),
        ("{name: silero, model_path: /nonexistent/vad.onnx}", "vad.model_path", "not found"),
    ],
)
def test_engine_keys_are_checked_with_file_and_key(
    project: Path, vad: str, key: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        build_runtime(with_vad(project, vad), {})
    assert error.value.key == f"twilio_media_streams.{key}"
    assert error.value.file is not None and error.value.file.endswith("credentials.yml")
