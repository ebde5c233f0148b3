"""Finished recordings to an S3-compatible bucket, uploaded on a thread of their own.

The writer hands over each file once it is final (renamed from ``.partial.``), so an upload
never runs on the event loop nor holds up the disk writes of calls in progress. A failed
upload is tried again after growing pauses (`RETRY_DELAYS_S`); the local file stays until
an upload succeeds, and only then, with ``keep_local: false``, is it deleted. With
``keep_local: false`` every finished file in the folder is therefore one not uploaded yet,
and start-up queues them all: an outage longer than the retries, or a restart, loses
nothing.

Credentials come from boto3's standard chain (environment, profile, instance role). Errors
are logged by their code and the object's key, never with a request's headers; boto3's own
debug lines, which print signed request headers, are kept out of the log.
"""

from __future__ import annotations

import importlib.util
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telephonist.config.recording import BucketSettings
from telephonist.errors import ConfigError
from telephonist.recording.segments import PARTIAL

__all__ = ["RETRY_DELAYS_S", "BucketUploader"]

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (2.0, 10.0, 60.0, 300.0)
"""Pauses before the second and later attempts at one file (about 6 minutes in all)."""
_FINAL_SUFFIXES = (".wav", ".json")
_CHATTY = ("boto3", "botocore", "s3transfer", "urllib3")


def _reason(exc: BaseException) -> str:
    """What went wrong, without anything of the request (boto3's own messages can quote
    it)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return f"{error.get('Code', 'error')} (HTTP {status})"
    return type(exc).__name__


def _make_client(settings: BucketSettings) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10),
    )


class BucketUploader:
    """The bucket's only uploader in this process."""

    def __init__(
        self,
        settings: BucketSettings,
        folder: Path,
        *,
        make_client: Callable[[BucketSettings], Any] = _make_client,
        delays: tuple[float, ...] = RETRY_DELAYS_S,
    ) -> None:
        if importlib.util.find_spec("boto3") is None:
            raise ConfigError(
                "needs boto3: pip install 'telephonist[s3]'",
                key="twilio_media_streams.recording.s3",
            )
        for name in _CHATTY:
            logging.getLogger(name).setLevel(logging.WARNING)
        self.settings = settings
        self._folder = folder
        self._make_client = make_client
        self._delays = delays
        self._jobs: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self.uploaded = 0
        self.failed = 0
        if not settings.keep_local:
            for path in sorted(folder.rglob("*")):
                if self._finished(path):
                    self._jobs.put(path)
        self._thread = threading.Thread(target=self._run, name="recording-upload", daemon=True)
        self._thread.start()

    def put(self, path: Path) -> None:
        """Upload ``path`` (a finished file under the folder) soon; never blocks."""
        self._jobs.put(path)

    def close(self, timeout: float = 30.0) -> None:
        """Try what is queued once more (no pauses), then stop the thread."""
        self._stopping.set()
        self._jobs.put(None)
        self._thread.join(timeout)

    def key(self, path: Path) -> str:
        """The object key of ``path``: the prefix, then its path under the folder."""
        return self.settings.prefix + path.relative_to(self._folder).as_posix()

    def _finished(self, path: Path) -> bool:
        return path.is_file() and path.suffix in _FINAL_SUFFIXES and PARTIAL not in path.name

    def _run(self) -> None:
        client: Any = None
        while (path := self._jobs.get()) is not None:
            try:
                client = client or self._make_client(self.settings)
            except Exception as exc:  # a bad region or endpoint: every upload would fail
                log.error("recording.upload_failed: no client: %s", _reason(exc))
                self.failed += 1
                continue
            self._upload(client, path)

    def _upload(self, client: Any, path: Path) -> None:
        key = self.key(path)
        error: BaseException | None = None
        for delay in (0.0, *self._delays):
            if delay and self._stopping.wait(delay):
                break  # shutting down: the file stays in the folder
            try:
                client.upload_file(str(path), self.settings.bucket, key)
            except FileNotFoundError:
                return  # retention removed it meanwhile
            except Exception as exc:  # boto3's errors, and OSError reading the file
                error = exc
                log.warning("recording.upload_retry key=%s: %s", key, _reason(exc))
                continue
            self.uploaded += 1
            if not self.settings.keep_local:
                path.unlink(missing_ok=True)
            log.debug("recording.uploaded key=%s", key)
            return
        self.failed += 1
        log.error(
            "recording.upload_failed key=%s: %s; the file stays in %s",
            key,
            _reason(error) if error else "shutting down",
            self._folder,
        )
