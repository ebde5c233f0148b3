"""Finished recordings to an S3-compatible bucket, uploaded on a thread of their own.

The writer hands over each file once it is final (renamed from ``.partial.``), so an upload
never runs on the event loop nor holds up the disk writes of calls in progress. A failed
upload is tried again after growing pauses (`RETRY_DELAYS_S`); the local file stays until
an upload succeeds, and only then, with ``keep_local: false``, is it deleted.

What still awaits upload is known from the folder itself, so a restart forgets nothing: with
``keep_local: false`` every finished file there, otherwise each file with a `marker` beside
it (made when the file is handed over, removed once it is in the bucket). Start-up queues
them all, the writer queues them again on its periodic sweep (an outage longer than the
retries), the first upload that succeeds after a failure queues them too (the bucket is
back), and the sweep never deletes them: an outage or a restart loses nothing.

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
from telephonist.recording.segments import PARTIAL, recording_files

__all__ = ["RETRY_DELAYS_S", "BucketUploader", "awaiting_upload", "marker"]

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (2.0, 10.0, 60.0, 300.0)
"""Pauses before the second and later attempts at one file (about 6 minutes in all)."""
_MARKER = ".upload"
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


def marker(path: Path) -> Path:
    """The hidden file that says ``path`` is not in the bucket yet (with ``keep_local``)."""
    return path.with_name(f".{path.name}{_MARKER}")


def awaiting_upload(path: Path, settings: BucketSettings) -> bool:
    """Whether the recording file ``path`` still has to reach the bucket: a finished file,
    and with ``keep_local: false`` any such file still here, else one with its `marker`."""
    if PARTIAL in path.name:
        return False
    return not settings.keep_local or marker(path).exists()


def _remove(path: Path, key: str) -> None:
    """Delete an uploaded file or its marker; if that fails it is uploaded again later (the
    same object, no harm)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("recording.upload_cleanup_failed key=%s: %s", key, exc.strerror or exc)


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
        self._jobs: queue.SimpleQueue[Path | threading.Event | None] = queue.SimpleQueue()
        self._queued: set[Path] = set()
        """Queued or being uploaded: handing a file over again while it is adds nothing."""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._failing = False
        """The last upload failed: the next success means the bucket is back."""
        self.uploaded = 0
        self.failed = 0
        for path in self.waiting():
            self.put(path)
        self._thread = threading.Thread(target=self._run, name="recording-upload", daemon=True)
        self._thread.start()

    def waiting(self) -> list[Path]:
        """The finished recording files in the folder not uploaded yet."""
        return [p for p in recording_files(self._folder) if awaiting_upload(p, self.settings)]

    def put(self, path: Path) -> None:
        """Upload ``path`` (a finished file under the folder) soon, unless it is queued
        already; never waits for the network (it marks the file, a write to the folder)."""
        with self._lock:
            if path in self._queued:
                return
            self._queued.add(path)
        if self.settings.keep_local:
            try:
                marker(path).touch()
            except OSError as exc:  # it is still uploaded; a restart just will not retry it
                log.warning("recording.upload_marker_failed: %s", exc.strerror or exc)
        self._jobs.put(path)

    def barrier(self) -> threading.Event:
        """An event set once everything queued before it has been tried."""
        done = threading.Event()
        self._jobs.put(done)
        return done

    def close(self, timeout: float = 30.0) -> None:
        """Try what is queued once more (no pauses), then stop the thread."""
        self._stopping.set()
        self._jobs.put(None)
        self._thread.join(timeout)

    def key(self, path: Path) -> str:
        """The object key of ``path``: the prefix, then its path under the folder."""
        return self.settings.prefix + path.relative_to(self._folder).as_posix()

    def _run(self) -> None:
        client: Any = None
        while (path := self._jobs.get()) is not None:
            if isinstance(path, threading.Event):
                path.set()
                continue
            try:
                client = client or self._make_client(self.settings)
            except Exception as exc:  # a bad region or endpoint: every upload would fail
                log.error("recording.upload_failed: no client: %s", _reason(exc))
                self.failed += 1
            else:
                try:
                    self._upload(client, path)
                except Exception as exc:  # a bug must not stop every later upload
                    log.error("recording.upload_failed: %s", type(exc).__name__)
                    self.failed += 1
            with self._lock:
                self._queued.discard(path)

    def _upload(self, client: Any, path: Path) -> None:
        key = self.key(path)
        error: BaseException | None = None
        for delay in (0.0, *self._delays):
            if delay and self._stopping.wait(delay):
                break  # shutting down: the file stays in the folder
            try:
                client.upload_file(str(path), self.settings.bucket, key)
            except FileNotFoundError:
                _remove(marker(path), key)
                return  # removed meanwhile (another instance uploaded it, or an operator)
            except Exception as exc:  # boto3's errors, and OSError reading the file
                error = exc
                log.warning("recording.upload_retry key=%s: %s", key, _reason(exc))
                continue
            self.uploaded += 1
            _remove(marker(path) if self.settings.keep_local else path, key)
            log.debug("recording.uploaded key=%s", key)
            if self._failing:  # the bucket is back: what failed before need not wait
                self._failing = False
                for waiting in self.waiting():
                    self.put(waiting)
            return
        self._failing = True
        self.failed += 1
        log.error(
            "recording.upload_failed key=%s: %s; the file stays in %s, tried again later",
            key,
            _reason(error) if error else "shutting down",
            self._folder,
        )
