"""Smart Turn v3.2 (BSD-2-Clause) on onnxruntime: is the caller's turn complete?

The ONNX file ships inside the ``pipecat-ai`` wheel, which `scripts/install` installs with
``--no-deps`` at a pinned version: only the file is used, found without importing the package
(its ``__init__`` needs dependencies we do not install). Its SHA-256 is checked when it is
loaded, so a different file never answers silently. Nothing is downloaded at run time.

The model takes ``input_features`` of shape ``(N, 80, 800)`` (`telephonist.turn.features`)
and returns, for each clip, the probability that the speaker has finished their turn.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

from telephonist.errors import ConfigError
from telephonist.turn.features import model_input

__all__ = ["MODEL_FILE", "MODEL_SHA256", "SmartTurnModel", "find_model", "verify_installed"]

MODEL_FILE = "audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
"""Where the file sits inside the ``pipecat`` package (pipecat-ai 1.14.0)."""
MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
_INSTALL = 'pip install --no-deps "pipecat-ai==1.14.0" (scripts/install does it)'


def find_model() -> Path:
    """The installed Smart Turn file; ConfigError naming the install command if missing."""
    spec = importlib.util.find_spec("pipecat")  # a top-level spec: nothing is imported
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
        if path.is_file():
            return path
    raise ConfigError(f"the Smart Turn model is not installed: {_INSTALL}")


def verify_installed() -> Path:
    """The installed file, checked as loading will check it (`telephonist check`)."""
    path = find_model()
    _verified(path, MODEL_SHA256)
    return path


def _verified(path: Path, sha256: str) -> bytes:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ConfigError(
            f"{path} has SHA-256 {digest}, expected {sha256}: not the Smart Turn v3.2 file "
            f"this version was tested with; reinstall it: {_INSTALL}"
        )
    return data


class SmartTurnModel:
    """One ONNX session per process (``run`` is thread-safe), loaded on first use."""

    def __init__(
        self, path: Path | None = None, *, sha256: str = MODEL_SHA256, threads: int = 1
    ) -> None:
        self.path = path
        self.sha256 = sha256
        self.threads = threads
        """Intra-op threads per inference: 1, since decisions are batched and several calls'
        batches may run side by side on a shared machine."""
        self._session: ort.InferenceSession | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Find, verify and load the model (blocking; safe to call again)."""
        with self._lock:
            if self._session is not None:
                return
            path = self.path or find_model()
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.log_severity_level = 3
            self._session = ort.InferenceSession(
                _verified(path, self.sha256), options, providers=["CPUExecutionProvider"]
            )

    def completeness(self, clips: list[bytes]) -> list[float]:
        """For each mu-law 8 kHz clip (the turn so far, ending now), the probability that
        the turn is complete; one inference for the whole batch (blocking)."""
        if not clips:
            return []
        if self._session is None:
            self.load()
        assert self._session is not None
        (scores,) = self._session.run(None, {"input_features": model_input(clips)})
        return [float(p) for p in np.asarray(scores, dtype=np.float32).reshape(len(clips))]
