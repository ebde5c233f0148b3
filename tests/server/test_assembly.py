"""build_runtime: the vad block's engine keys reach the engine, which checks them; an
``--endpoints`` file replaces the project's endpoints.yml whole."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.fakes.openai_server import FakeLLM

from telephonist.dialogue.turns import SessionStart, UserText
from telephonist.errors import ConfigError
from telephonist.server.assembly import Paths, build_runtime
from telephonist.speech.vad.energy import EnergyVAD

LLM_PROJECT = Path(__file__).parent.parent / "llm" / "projects" / "parcel_line"
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


async def test_project_warnings_are_logged_and_errors_refused(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A project with only warnings starts (each warning logged); an error stops it."""
    flows = project / "data" / "flows.yml"
    flows.write_text(
        flows.read_text().replace(
            "      - action: utter_goodbye\n", "      - action: utter_goodbye\n        next: END\n"
        )
    )
    paths = with_vad(project, "{name: energy}")
    with caplog.at_level("WARNING", logger="telephonist.server.assembly"):
        runtime = build_runtime(paths, {})
    await runtime.close()
    assert any("step can never run" in r.getMessage() for r in caplog.records)
    flows.write_text(flows.read_text().replace("link: billing", "link: bill"))
    with pytest.raises(ConfigError, match="no flow with id 'bill'"):
        build_runtime(paths, {})


async def test_an_endpoints_option_file_replaces_the_projects_endpoints(
    project: Path, tmp_path: Path
) -> None:
    """``run --endpoints FILE``: that file's action URL, timeout and store are used, not the
    project's endpoints.yml (whose timeout used to win)."""
    (project / "endpoints.yml").write_text(
        "action_endpoint: {url: 'http://127.0.0.1:9/project', timeout: 9}\n"
        "tracker_store: {type: sqlite}\n"
    )
    other = tmp_path / "prod-endpoints.yml"
    other.write_text(
        "action_endpoint: {url: 'http://127.0.0.1:9/${ROUTE}', timeout: 2.5}\n"
        "tracker_store: {type: memory}\n"
    )
    paths = with_vad(project, "{name: energy}")
    runtime = build_runtime(Paths(paths.project, endpoints=other), {"ROUTE": "prod"})
    actions = runtime.assistant.actions  # type: ignore[attr-defined]
    assert actions.timeout == 2.5 and actions.url == "http://127.0.0.1:9/prod"
    assert type(runtime.assistant.store).__name__ == "MemoryStore"  # type: ignore[attr-defined]
    await runtime.close()
    default = build_runtime(paths, {})
    assert default.assistant.actions.timeout == 9.0  # type: ignore[attr-defined]
    await default.close()


def test_an_endpoints_option_file_is_checked_like_the_projects(
    project: Path, tmp_path: Path
) -> None:
    """A bad value in ``--endpoints FILE`` stops start-up naming that file and the key."""
    other = tmp_path / "prod-endpoints.yml"
    other.write_text("action_endpoint: {url: 'http://x', timeout: -1}\n")
    paths = with_vad(project, "{name: energy}")
    with pytest.raises(ConfigError, match=r"prod-endpoints\.yml:1: action_endpoint\.timeout"):
        build_runtime(Paths(paths.project, endpoints=other), {})


async def test_an_endpoints_option_file_spares_the_projects_own_from_checks(
    project: Path, tmp_path: Path
) -> None:
    """With ``--endpoints FILE`` the project's endpoints.yml is not read at all: a bad value
    there no longer stops a server whose FILE is valid."""
    (project / "endpoints.yml").write_text("action_endpoint: {url: 'http://x', timeout: -3}\n")
    other = tmp_path / "prod-endpoints.yml"
    other.write_text("action_endpoint: {url: 'http://127.0.0.1:9/prod', timeout: 4}\n")
    paths = with_vad(project, "{name: energy}")
    with pytest.raises(ConfigError, match=r"endpoints\.yml:1: action_endpoint\.timeout"):
        build_runtime(paths, {})
    runtime = build_runtime(Paths(paths.project, endpoints=other), {})
    assert runtime.assistant.actions.timeout == 4.0  # type: ignore[attr-defined]
    await runtime.close()


async def test_the_command_generator_takes_its_model_groups_from_the_endpoints_option(
    tmp_path: Path,
) -> None:
    """The LLM command generator's ``model_group`` is looked up in ``--endpoints FILE``:
    the project's endpoints.yml has no such group, FILE's model answers the turn."""
    root = tmp_path / "parcel_line"
    shutil.copytree(LLM_PROJECT, root)
    (root / "credentials.yml").write_text(CREDENTIALS.format(vad="{name: energy}"))
    (root / "endpoints.yml").write_text(
        "model_groups:\n  - id: elsewhere\n    models: [{provider: ollama, model: x}]\n"
    )
    other = tmp_path / "prod-endpoints.yml"
    other.write_text(
        "tracker_store: {type: memory}\n"
        "model_groups:\n"
        "  - id: parcel-model\n"
        "    models:\n"
        "      - {provider: self-hosted, model: file-model, api_base: '${PARCEL_LLM_BASE}',"
        " api_key: '${PARCEL_LLM_KEY}'}\n"
    )
    with pytest.raises(ConfigError, match="no model group with id 'parcel-model'"):
        build_runtime(Paths(root), {})
    async with FakeLLM(["start flow goodbye"]) as llm:
        environ = {"PARCEL_LLM_BASE": llm.base, "PARCEL_LLM_KEY": "k"}
        runtime = build_runtime(Paths(root, endpoints=other), environ)
        await runtime.assistant.handle("call-1", SessionStart({}))
        turn = await runtime.assistant.handle("call-1", UserText("that's all, bye"))
        await runtime.close()
    assert [m.text for m in turn.messages] == ["Thanks for calling the parcel line."]
    assert [r.body["model"] for r in llm.requests] == ["file-model"]


async def test_the_turn_model_is_built_by_default_and_off_with_model_none(project: Path) -> None:
    """Smart Turn by default (verified and loaded by its warm-up); ``turn: {model: none}``:
    no scorer, the silence rule."""
    from telephonist.turn.scorer import TurnBatcher

    paths = with_vad(project, "{name: energy}")
    runtime = build_runtime(paths, {})
    assert isinstance(runtime.turn_scorer, TurnBatcher)
    await runtime.turn_scorer.warm_up()
    await runtime.close()
    credentials = paths.credentials_file
    credentials.write_text(credentials.read_text() + "  turn: {model: none}\n")
    runtime = build_runtime(paths, {})
    assert runtime.turn_scorer is None
    await runtime.close()


def test_a_missing_turn_model_names_the_key_and_the_install(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the model file installed, start-up stops at turn.model with the command."""
    from telephonist.server import assembly

    def missing() -> Path:
        raise ConfigError("the Smart Turn model is not installed: pip install ...")

    monkeypatch.setattr(assembly, "find_model", missing)
    with pytest.raises(ConfigError, match="not installed") as error:
        build_runtime(with_vad(project, "{name: energy}"), {})
    assert error.value.key == "twilio_media_streams.turn.model"
