"""Custom actions run in-process: ``action_endpoint: {actions_module: actions}``, as in Rasa Pro.

The project's package (imported relative to the project directory, with its sub-modules) is
searched for ``rasa_sdk.Action`` classes, which rasa_sdk's own ``ActionExecutor`` runs. The
request and the answer are those of the HTTP action server (`action_request`, a JSON round
trip, `action_result`), and failures map as the server's status codes do (unknown action
404, rejection 400: not retryable; an exception 500: retryable), so the engine cannot tell
the two apart.

Each call runs in its own daemon thread with its own event loop: a blocking action never
stalls the server's loop, and after ``timeout`` the call fails into
``pattern_internal_error``. Python cannot stop a thread, so an action that hangs keeps its
thread until it returns; at most `MAX_RUNNING` run at once (later calls wait, within their
timeout), and a hung one never keeps the process from exiting.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import pkgutil
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from telephonist.dialogue.action_server import (
    ActionResult,
    action_request,
    action_result,
    domain_payload,
)
from telephonist.dialogue.model import Domain
from telephonist.dialogue.tracker import Tracker
from telephonist.errors import ConfigError, ProviderError

__all__ = ["MAX_RUNNING", "ModuleActions", "import_actions"]

logger = logging.getLogger(__name__)
MAX_RUNNING = 16
"""Actions running at once per assistant (each in its own thread)."""
_PROVIDER = "actions_module"
_WHERE = {"file": "endpoints.yml", "key": "action_endpoint.actions_module"}
_INSTALL = "pip install 'telephonist[actions]'"


def _origin(module: ModuleType) -> Path | None:
    paths = list(getattr(module, "__path__", []))
    location = getattr(module, "__file__", None) or (paths[0] if paths else None)
    return Path(location).resolve() if location else None


def _forget_foreign(top: str, root: Path) -> None:
    """Drop a same-named package imported from elsewhere when the project has its own."""
    existing = sys.modules.get(top)
    origin = _origin(existing) if existing is not None else None
    ours = (root / top).is_dir() or (root / f"{top}.py").is_file()
    if origin is not None and ours and not origin.is_relative_to(root):
        for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
            del sys.modules[name]


def _submodules(package: ModuleType) -> list[ModuleType]:
    found = [package]
    for info in pkgutil.iter_modules(getattr(package, "__path__", []), f"{package.__name__}."):
        child = importlib.import_module(info.name)
        found.extend(_submodules(child) if info.ispkg else [child])
    return found


def import_actions(module: str, project_dir: Path) -> list[ModuleType]:
    """``module`` and every sub-module of it, imported with the project directory first on
    ``sys.path`` (as ``rasa run`` does from the project); a `ConfigError` if that fails."""
    root = Path(project_dir).resolve()
    if str(root) in sys.path:
        sys.path.remove(str(root))
    sys.path.insert(0, str(root))
    _forget_foreign(module.split(".")[0], root)
    importlib.invalidate_caches()
    try:
        return _submodules(importlib.import_module(module))
    except ModuleNotFoundError as exc:
        if exc.name is not None and f"{module}.".startswith(f"{exc.name}."):
            raise ConfigError(f"no module {module!r} in {root}", **_WHERE) from None
        raise ConfigError(f"importing {module!r} failed: {exc}", **_WHERE) from exc
    except Exception as exc:
        raise ConfigError(
            f"importing {module!r} failed: {type(exc).__name__}: {exc}", **_WHERE
        ) from exc


class ModuleActions:
    """Runs the ``rasa_sdk`` actions of one package for one assistant."""

    def __init__(self, executor: Any, module: str, domain: Domain, timeout: float) -> None:
        self._executor = executor
        self.module = module
        self.timeout = timeout
        self._domain = domain_payload(domain)
        self._slots: asyncio.Semaphore | None = None

    @classmethod
    def load(cls, module: str, project_dir: Path, domain: Domain, timeout: float) -> ModuleActions:
        """Import ``module`` and register its actions; a `ConfigError` says what is wrong."""
        try:
            from rasa_sdk import Action
            from rasa_sdk.executor import ActionExecutor
        except ImportError:
            raise ConfigError(f"needs the Rasa SDK: {_INSTALL}", **_WHERE) from None
        executor = ActionExecutor()
        for loaded in import_actions(module, project_dir):
            for _, cls_ in inspect.getmembers(loaded, inspect.isclass):
                if (
                    issubclass(cls_, Action)
                    and cls_.__module__ == loaded.__name__
                    and not inspect.isabstract(cls_)
                ):
                    executor.register_action(cls_)
        missing = sorted(set(domain.actions) - set(executor.actions))
        if missing:
            logger.warning(
                "dialogue.actions_missing module=%s actions=%s: the domain declares them but "
                "the module defines none of that name",
                module,
                ",".join(missing),
            )
        return cls(executor, module, domain, timeout)

    @property
    def names(self) -> tuple[str, ...]:
        """The action names the module defines."""
        return tuple(sorted(self._executor.actions))

    async def run(self, action: str, tracker: Tracker) -> ActionResult:
        """Execute ``action`` in a worker thread; raises ProviderError on any failure."""
        body = json.dumps(action_request(action, tracker, self._domain))
        try:
            answer = await asyncio.wait_for(self._in_thread(action, body), self.timeout)
        except TimeoutError:
            raise ProviderError(_PROVIDER, f"{action}: timed out", retryable=True) from None
        return action_result(_PROVIDER, action, answer)

    async def _in_thread(self, action: str, body: str) -> Any:
        if self._slots is None:
            self._slots = asyncio.Semaphore(MAX_RUNNING)
        slots = self._slots
        await slots.acquire()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            slots.release()
            if done.done():  # timed out meanwhile: nobody waits for it any more
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result)

        def work() -> None:
            result, error = None, None
            try:
                result = self._call(action, body)
            except BaseException as exc:
                error = exc
            try:
                loop.call_soon_threadsafe(settle, result, error)
            except RuntimeError:  # the server's loop has closed
                pass

        threading.Thread(target=work, name=f"action {action}", daemon=True).start()
        return await done

    def _call(self, action: str, body: str) -> Any:
        """One action call on this thread's own event loop; the answer as JSON data."""
        from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

        try:
            result = asyncio.run(self._executor.run(json.loads(body)))
        except ActionNotFoundException:
            raise ProviderError(
                _PROVIDER, f"{action}: no such action in {self.module}", retryable=False
            ) from None
        except ActionExecutionRejection as exc:
            raise ProviderError(
                _PROVIDER, f"{action}: rejected: {exc.message}", retryable=False
            ) from None
        except Exception as exc:
            logger.error("dialogue.action_raised action=%s", action, exc_info=True)
            raise ProviderError(
                _PROVIDER, f"{action}: {type(exc).__name__}: {exc}", retryable=True
            ) from None
        data = result.model_dump() if hasattr(result, "model_dump") else result
        try:
            return json.loads(json.dumps(data))
        except (TypeError, ValueError):
            raise ProviderError(
                _PROVIDER, f"{action}: the answer is not JSON", retryable=True
            ) from None

    async def aclose(self) -> None:
        """Nothing to release: each call's thread ends with the call."""
