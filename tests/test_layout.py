"""The architecture's rules, checked: imports point downwards only, modules stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "telephonist"
BASE = {"errors", "config"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "config": {"errors"},
    "audio": BASE,
    "twilio": BASE | {"audio"},
    "dialogue": BASE,
    "stores": BASE,
    "speech": BASE | {"audio"},
    # The end-of-turn model: features and rule are pure, its scorer runs inference off the loop.
    "turn": BASE | {"audio"},
    # A bridge to a remote Rasa server: the Assistant seam over HTTP, beside the built-in one.
    "gateway": BASE | {"dialogue"},
    "simulator": BASE | {"audio", "twilio"},
    # The LLM command generator's HTTP client: networking kept out of the pure dialogue
    # layer, whose prompt inputs, command seam and settings it uses.
    "llm": BASE | {"dialogue"},
    "call": BASE | {"audio", "twilio", "dialogue", "speech", "gateway", "turn"},
    # Call recordings and transcripts: taps on the wire and on the call's events, above the
    # session (which never knows it is recorded), below the server that wires them in.
    "recording": BASE | {"audio", "twilio", "call"},
    "server": BASE
    | {
        "audio",
        "twilio",
        "dialogue",
        "stores",
        "speech",
        "call",
        "gateway",
        "llm",
        "recording",
        "turn",
    },
    "cli": BASE
    | {
        "audio",
        "twilio",
        "dialogue",
        "stores",
        "speech",
        "call",
        "gateway",
        "server",
        "simulator",
        "starter",
        "llm",
        "recording",
        "turn",
    },
}
MAX_LINES = 400


def modules() -> list[Path]:
    """Every source module (the starter project is a template, not library code)."""
    return sorted(p for p in SRC.rglob("*.py") if "starter" not in p.relative_to(SRC).parts)


def layer_of(path: Path) -> str:
    """The top-level sub-package (or module) a file belongs to."""
    relative = path.relative_to(SRC)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def imported_layers(path: Path) -> set[str]:
    """The telephonist layers a module imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "telephonist" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_downwards(path: Path):
    """A layer imports only the layers below it (and itself)."""
    layer = layer_of(path)
    if layer not in ALLOWED:
        return  # package root: __init__, __main__
    forbidden = imported_layers(path) - ALLOWED[layer] - {layer}
    assert not forbidden, f"{layer} must not import {sorted(forbidden)}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_stay_small(path: Path):
    """One concept per module: at most 400 lines."""
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{lines} lines; split it along a seam"


def test_every_layer_is_known():
    """A new top-level package must be placed in the layer table."""
    layers = {layer_of(p) for p in modules()} - {"__init__", "__main__"}
    assert layers <= set(ALLOWED), sorted(layers - set(ALLOWED))
