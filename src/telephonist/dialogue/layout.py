"""Where a project's files are, by Rasa's default names.

``config.yml``, ``endpoints.yml``, the domain as ``domain.yml`` and/or a ``domain/`` directory
of YAML files (read recursively and merged, as ``rasa train`` does), and training data
anywhere under ``data/``. ``.yaml`` works wherever ``.yml`` does. Markdown and JSON training
data (Rasa 1.x/2.x formats) are found too, so ``check`` can say they are not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Layout", "find_layout"]

_YAML = (".yml", ".yaml")


@dataclass(frozen=True, slots=True)
class Layout:
    """The files of one project; every path is absolute, every list sorted."""

    root: Path
    config: Path | None
    endpoints: Path | None
    domain: tuple[Path, ...]
    data: tuple[Path, ...]
    legacy_data: tuple[Path, ...]  # Markdown / JSON training data

    def display(self, path: Path) -> str:
        """The name a person sees in messages: relative to the project, with slashes."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def _first(root: Path, stem: str) -> Path | None:
    for suffix in _YAML:
        candidate = root / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _tree(directory: Path, suffixes: tuple[str, ...]) -> tuple[Path, ...]:
    if not directory.is_dir():
        return ()
    found = (
        p
        for p in directory.rglob("*")
        if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")
    )
    return tuple(sorted(found))


def find_layout(root: Path) -> Layout:
    """The project files under ``root`` (which must be a directory)."""
    single = _first(root, "domain")
    domain = ((single,) if single else ()) + _tree(root / "domain", _YAML)
    return Layout(
        root=root,
        config=_first(root, "config"),
        endpoints=_first(root, "endpoints"),
        domain=domain,
        data=_tree(root / "data", _YAML),
        legacy_data=_tree(root / "data", (".md", ".json")),
    )
