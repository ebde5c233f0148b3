"""Malformed project files produce problems, never crashes."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from telephonist.dialogue.project import check_project, load_project
from telephonist.errors import ConfigError

FILES = ["domain.yml", "data/flows.yml", "data/nlu.yml", "config.yml", "endpoints.yml"]
WEIRD: list[Any] = [None, 5, "x", [], {}, [1, 2], {"a": 1}, True, 3.5, [{"x": None}], "a >"]


def _mutate(node: Any, rng: random.Random, depth: int = 0) -> None:
    """Replace one value somewhere in the tree with something of the wrong shape."""
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        if rng.random() < 0.4 or depth > 6:
            node[key] = rng.choice(WEIRD)
        else:
            _mutate(node[key], rng, depth + 1)
    elif isinstance(node, list) and node:
        index = rng.randrange(len(node))
        if rng.random() < 0.4 or depth > 6:
            node[index] = rng.choice(WEIRD)
        else:
            _mutate(node[index], rng, depth + 1)


@pytest.mark.parametrize("seed", range(0, 300, 3))
def test_mutated_starter_never_crashes(starter_path: Path, tmp_path: Path, seed: int) -> None:
    """A randomly broken starter file gives problems (or loads), but raises nothing else."""
    rng = random.Random(seed)
    project = tmp_path / "p"
    shutil.copytree(starter_path, project, ignore=shutil.ignore_patterns(".telephonist"))
    name = rng.choice(FILES)
    data = yaml.safe_load((project / name).read_text())
    _mutate(data, rng)
    (project / name).write_text(yaml.safe_dump(data))
    problems = check_project(project)
    try:
        load_project(project)
    except ConfigError as exc:
        assert problems and str(problems[0]).split(":")[0] in str(exc)
    for problem in problems:
        assert problem.file and problem.message
