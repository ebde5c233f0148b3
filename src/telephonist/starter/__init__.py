"""The starter phone assistant that ``telephonist init`` copies: package data only."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["copy_starter", "starter_dir"]

_SKIP = {"__pycache__", ".telephonist"}


def starter_dir() -> Path:
    """The directory holding the starter project's files."""
    return Path(__file__).resolve().parent / "project"


def copy_starter(dest: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the starter project into ``dest``; returns the files written.

    Existing files are left alone unless ``overwrite`` is set, and are not returned.
    """
    source = starter_dir()
    written: list[Path] = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in _SKIP for part in relative.parts) or path.is_dir():
            continue
        target = dest / relative
        if target.exists() and not overwrite:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        written.append(target)
    return written
