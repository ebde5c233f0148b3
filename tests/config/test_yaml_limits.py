"""Every YAML file is read by one bounded loader: alias bombs, self-referring aliases and
absurd nesting are refused with the file named, and normal anchors still work."""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from telephonist.config.yamlfile import MAX_DEPTH, load_yaml, parse_yaml
from telephonist.dialogue.project import check_project
from telephonist.errors import ConfigError
from telephonist.server.assembly import Paths, load_channel
from telephonist.starter import copy_starter

SRC = Path(__file__).resolve().parents[2] / "src" / "telephonist"

# The classic "billion laughs": ten strings, then nine levels of ten aliases each, about
# 470 bytes and 10^9 strings when expanded (top-level keys, so it fits in any file).
LEVELS = "abcdefghij"
BOMB = "lol_a: &a [" + ",".join(['"lol"'] * 10) + "]\n"
for lower, upper in itertools.pairwise(LEVELS):
    BOMB += f"lol_{upper}: &{upper} [" + ",".join([f"*{lower}"] * 10) + "]\n"


def test_the_bomb_is_the_classic_size() -> None:
    """The fixture is the small document the attack needs (under 500 bytes)."""
    assert len(BOMB.encode()) < 500 and BOMB.count("*") == 90


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private copy of the starter project."""
    copy_starter(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "name",
    ["domain.yml", "config.yml", "endpoints.yml", "data/flows.yml", "data/nlu.yml"],
)
def test_a_bomb_in_a_project_file_is_refused(project: Path, name: str) -> None:
    """check reports the file and line instead of expanding the aliases."""
    path = project / name
    path.write_text(path.read_text() + "\n" + BOMB)
    problems = [p for p in check_project(project) if p.file == name]
    assert problems, check_project(project)
    assert "refused: aliases expand to more than" in problems[0].message
    assert problems[0].line is not None and problems[0].line > 1


def test_a_bomb_in_a_data_subfolder_is_refused(project: Path) -> None:
    """data/ is read recursively, with the same loader."""
    (project / "data" / "more").mkdir()
    (project / "data" / "more" / "extra.yml").write_text(BOMB)
    problems = [p.file for p in check_project(project) if "alias bomb" in p.message]
    assert problems == ["data/more/extra.yml"]


def test_a_bomb_in_credentials_stops_run_with_the_file_named(project: Path) -> None:
    """credentials.yml goes through the loader too; the error names the file."""
    credentials = project / "credentials.yml"
    credentials.write_text(credentials.read_text() + "\n" + BOMB)
    with pytest.raises(ConfigError, match="alias bomb") as error:
        load_channel(Paths(project), {})
    assert error.value.file == str(credentials)


def test_a_bomb_in_an_endpoints_option_file_is_refused(project: Path, tmp_path: Path) -> None:
    """``run --endpoints FILE`` reads its file with the same loader."""
    other = tmp_path / "prod-endpoints.yml"
    other.write_text(BOMB)
    problems = [str(p) for p in check_project(project, other, {}) if p.severity == "error"]
    assert any(re.search(r"prod-endpoints\.yml:\d+: refused: aliases", p) for p in problems)


def test_check_returns_promptly_on_a_bomb(project: Path) -> None:
    """`telephonist check` on a bombed flows file ends in seconds, exit 1, file named."""
    flows = project / "data" / "flows.yml"
    flows.write_text(flows.read_text() + "\n" + BOMB)
    result = subprocess.run(
        [sys.executable, "-m", "telephonist", "check", str(project)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "data/flows.yml" in result.stdout and "alias bomb" in result.stdout


def test_self_referring_alias_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    """A recursive alias would loop forever when walked; nesting past the limit would
    exhaust the recursive composer: both are clear errors naming the file."""
    path = tmp_path / "credentials.yml"
    path.write_text("a: &loop [1, *loop]\n")
    with pytest.raises(ConfigError, match="line 1: refused: an alias refers to itself"):
        load_yaml(path, {})
    path.write_text("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n")
    with pytest.raises(ConfigError, match=f"refused: nested deeper than {MAX_DEPTH}"):
        load_yaml(path, {})


def test_ordinary_anchors_and_merge_keys_still_work() -> None:
    """Reusing a block a few times is well inside the budget."""
    data = parse_yaml(
        "base: &base {timeout: 5, retries: 2}\n"
        "one: {<<: *base, name: one}\n"
        "two: {<<: *base, name: two}\n"
        "both: [*base, *base]\n"
    )
    assert data["one"] == {"timeout": 5, "retries": 2, "name": "one"}
    assert data["both"] == [data["base"], data["base"]]


def _yaml_loads(path: Path) -> list[str]:
    """Every ``yaml.<loader>`` reference in a module (loading functions or Loader classes)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "yaml"
            and ("load" in node.attr.lower())
        ):
            found.append(f"{path.relative_to(SRC)}:{node.lineno}: yaml.{node.attr}")
    return found


def test_only_the_shared_loader_parses_yaml() -> None:
    """No module but config/yamlfile.py calls PyYAML's loaders: one safe loader for all."""
    shared = SRC / "config" / "yamlfile.py"
    offenders = [hit for p in sorted(SRC.rglob("*.py")) if p != shared for hit in _yaml_loads(p)]
    assert offenders == []
    assert _yaml_loads(shared)  # the check would notice a load
