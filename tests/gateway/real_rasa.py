"""A real Rasa Open Source server for end-to-end tests.

Rasa 3.6 installs only on Python 3.10 and pulls TensorFlow (about 2.7 GB), so its virtualenv
is built once and cached outside the repository, under ``~/.cache/telephonist-tests/``
(``TELEPHONIST_TEST_CACHE`` moves it), keyed by a hash of what goes into it; the test
project next to this file is trained once per content hash the same way. A file lock makes
two test processes that race wait for one build. Python 3.10 is found as ``python3.10``
(through pyenv's shim with ``PYENV_VERSION`` set to an installed 3.10) or taken from
``TELEPHONIST_RASA_PYTHON``; without it, or when the install fails, `RasaUnavailable` says
why and the test skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx

__all__ = ["PROJECT", "RasaServer", "RasaUnavailable", "rasa_model", "rasa_venv", "running_rasa"]

RASA = "rasa==3.6.21"
PROJECT = Path(__file__).with_name("rasa_project")
INSTALL_TIMEOUT = 1200
TRAIN_TIMEOUT = 600
START_TIMEOUT = 240.0
QUIET = {
    "RASA_TELEMETRY_ENABLED": "false",  # no network here; never ask
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}


class RasaUnavailable(Exception):
    """Rasa cannot run here (no Python 3.10, or the install failed); the message says why."""


def cache_dir() -> Path:
    """Where the virtualenv and the trained models are kept."""
    default = Path.home() / ".cache" / "telephonist-tests"
    path = Path(os.environ.get("TELEPHONIST_TEST_CACHE") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _python310() -> tuple[str, dict[str, str], str]:
    """The interpreter command, the environment it needs, and its full version."""
    env = {**os.environ, **QUIET}
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    installed = sorted(pyenv_root.glob("versions/3.10.*/bin/python3.10"), reverse=True)
    command = (
        os.environ.get("TELEPHONIST_RASA_PYTHON")
        or (str(installed[0]) if installed else None)  # pyenv's own build, without its shim
        or shutil.which("python3.10")
    )
    if command is None:
        raise RasaUnavailable(
            "no Python 3.10 (pyenv install 3.10, python3.10 on PATH or TELEPHONIST_RASA_PYTHON)"
        )
    try:
        probe = subprocess.run(
            [command, "-c", "import sys, venv; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    except OSError as exc:
        raise RasaUnavailable(f"cannot run {command}: {exc.strerror}") from None
    version = probe.stdout.strip()
    if probe.returncode != 0 or not version.startswith("3.10."):
        raise RasaUnavailable(
            f"{command} is not a working Python 3.10 with venv ({probe.stderr.strip()[-200:]})"
        )
    return command, env, version


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """An exclusive lock shared by every process using the cache."""
    with open(cache_dir() / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str], log: Path, timeout: float, what: str, **kwargs: Any) -> None:
    with open(log, "ab") as out:
        try:
            done = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, **kwargs
            )
        except subprocess.TimeoutExpired:
            raise RasaUnavailable(f"{what} took longer than {timeout:.0f} s; see {log}") from None
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-5:]
        raise RasaUnavailable(f"{what} failed (exit {done.returncode}); see {log}: {tail}")


def rasa_venv() -> Path:
    """A Python 3.10 virtualenv with Rasa, built on first use; its directory."""
    python, env, version = _python310()
    key = hashlib.sha256(f"{RASA}\n{version}\n".encode()).hexdigest()[:16]
    venv = cache_dir() / f"rasa-venv-{key}"
    done = venv / ".complete"
    if done.exists():
        return venv
    with _locked(venv.name):
        if done.exists():  # another process built it while we waited
            return venv
        shutil.rmtree(venv, ignore_errors=True)  # a build that was interrupted
        log = cache_dir() / f"{venv.name}.log"
        log.write_text("")
        _run([python, "-m", "venv", str(venv)], log, 120, "creating the venv", env=env)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _run([*pip, "--upgrade", "pip"], log, INSTALL_TIMEOUT, "upgrading pip", env=env)
        _run([*pip, RASA], log, INSTALL_TIMEOUT, f"pip install {RASA}", env=env)
        done.write_text(RASA + "\n")
    return venv


def _project_hash(venv: Path) -> str:
    digest = hashlib.sha256(venv.name.encode())
    for path in sorted(p for p in PROJECT.rglob("*") if p.is_file()):
        digest.update(path.relative_to(PROJECT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def rasa_model(venv: Path) -> Path:
    """The test project trained with ``rasa train`` (once per content hash)."""
    name = f"rasa-model-{_project_hash(venv)}"
    model = cache_dir() / name / "model.tar.gz"
    if model.exists():
        return model
    with _locked(name):
        if model.exists():
            return model
        log = cache_dir() / f"{name}.log"
        log.write_text("")
        with tempfile.TemporaryDirectory() as work:
            copy = Path(work) / "project"
            shutil.copytree(PROJECT, copy)
            command = [str(venv / "bin" / "rasa"), "train", "--fixed-model-name", "model"]
            command += ["--out", str(copy / "models")]
            _run(command, log, TRAIN_TIMEOUT, "rasa train", cwd=copy, env={**os.environ, **QUIET})
            model.parent.mkdir(exist_ok=True)
            partial = model.with_suffix(".partial")
            shutil.copyfile(copy / "models" / "model.tar.gz", partial)
            partial.replace(model)
    return model


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RasaServer:
    """A running ``rasa run`` and the tail of its output."""

    def __init__(self, url: str, process: asyncio.subprocess.Process) -> None:
        self.url = url
        self.process = process
        self.output: deque[str] = deque(maxlen=200)

    async def _drain(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.output.append(line.decode(errors="replace").rstrip())


@contextlib.asynccontextmanager
async def running_rasa(
    venv: Path, model: Path, *, token: str | None = None
) -> AsyncIterator[RasaServer]:
    """``rasa run --enable-api`` with the REST channel on a free port, until the model is
    loaded; stopped on exit."""
    port = _free_port()
    command = [str(venv / "bin" / "rasa"), "run", "--enable-api", "-m", str(model)]
    command += [
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "--credentials",
        str(PROJECT / "credentials.yml"),
    ]
    if token is not None:
        command += ["--auth-token", token]
    with tempfile.TemporaryDirectory() as work:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=work,
            env={**os.environ, **QUIET},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        server = RasaServer(f"http://127.0.0.1:{port}", process)
        drain = asyncio.create_task(server._drain())
        try:
            await _until_loaded(server, token)
            yield server
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            await drain


async def _until_loaded(server: RasaServer, token: str | None) -> None:
    """Poll ``/status`` until the model is loaded (Rasa prints no "ready" line)."""
    params = {"token": token} if token else None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=5.0) as http:
        while loop.time() < deadline:
            if server.process.returncode is not None:
                raise AssertionError(f"rasa run exited: {list(server.output)[-10:]}")
            with contextlib.suppress(httpx.HTTPError):
                status = await http.get(f"{server.url}/status", params=params)
                if status.status_code == 200 and status.json().get("model_id"):
                    return
            await asyncio.sleep(0.5)  # an external process: nothing to await but its port
    raise AssertionError(f"rasa run did not load the model in {START_TIMEOUT:.0f} s")
