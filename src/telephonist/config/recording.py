"""The ``recording:`` block of the channel: call recordings and transcripts, off by default.

Relative folders are read from the credentials file's own directory, so ``run`` and
``export`` find the same files wherever they are started.
"""

from __future__ import annotations

import math
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telephonist.config.keys import reject_unknown
from telephonist.config.redaction import shown
from telephonist.errors import ConfigError

__all__ = ["BucketSettings", "RecordingSettings", "parse_recording"]

_PREFIX = "twilio_media_streams.recording"
_INSTANCE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_KEYS = {
    "enabled",
    "folder",
    "wav",
    "transcript",
    "mask_dtmf",
    "retention_days",
    "max_size_mb",
    "instance",
    "s3",
}
_S3_KEYS = {"bucket", "prefix", "endpoint_url", "region", "keep_local"}
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class BucketSettings:
    """An S3-compatible bucket that receives each finished segment's files. Credentials come
    from the standard AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile,
    an instance role), never from this file."""

    bucket: str
    prefix: str = ""
    """Put before each file's path under the folder (``2026-11-30/CA…_….wav``)."""
    endpoint_url: str | None = None
    """An S3-compatible service other than AWS (MinIO, Ceph, a cloud's S3 API)."""
    region: str | None = None
    keep_local: bool = True
    """False: a file is deleted from the folder once its upload succeeded."""


@dataclass(frozen=True)
class RecordingSettings:
    """What to keep of each call, where, and for how long."""

    enabled: bool = False
    folder: Path = Path("recordings")
    wav: bool = True
    """A stereo WAV: the caller left, the bot right, as the caller heard it."""
    transcript: bool = True
    """A JSON transcript: turns, sources, confidence, interruptions, latency."""
    mask_dtmf: bool = True
    """Keys pressed appear as ``*`` in transcripts."""
    retention_days: float | None = 30.0
    """Files older than this are deleted (None: kept until the size cap needs room)."""
    max_size_mb: float | None = 10_000.0
    """The folder's cap: the oldest finished calls go first; None: no cap."""
    instance: str = ""
    """Names this server's segments (a call resumed elsewhere has one per instance)."""
    s3: BucketSettings | None = None
    """Also upload each finished segment's files to this bucket."""


def _number(block: Mapping[str, Any], key: str, default: float | None, file: str) -> float | None:
    value = block.get(key, default)
    if value is None:
        return None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0:  # .inf / .nan: YAML numbers too
        where = f"{_PREFIX}.{key}"
        raise ConfigError(
            f"must be a number >= 0 (0 or null: off), got {shown(value, where)}",
            file=file,
            key=where,
        )
    return float(value) or None


def _flag(block: Mapping[str, Any], key: str, default: bool, file: str) -> bool:
    value = block.get(key, default)
    if not isinstance(value, bool):
        where = f"{_PREFIX}.{key}"
        raise ConfigError(f"must be true or false, got {shown(value, where)}", file=file, key=where)
    return value


def _text(block: Mapping[str, Any], key: str, file: str, where: str) -> str | None:
    value = block.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"must be text, got {shown(value, where)}", file=file, key=where)
    return value.strip()


def _parse_bucket(value: Any, file: str) -> BucketSettings | None:
    prefix = f"{_PREFIX}.s3"
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError("must be a mapping with at least 'bucket'", file=file, key=prefix)
    reject_unknown(value, _S3_KEYS, file, prefix)
    bucket = _text(value, "bucket", file, f"{prefix}.bucket")
    if bucket is None or not _BUCKET.match(bucket):
        raise ConfigError(
            "must name a bucket (3-63 lower-case letters, digits, '.' or '-')",
            file=file,
            key=f"{prefix}.bucket",
        )
    endpoint = _text(value, "endpoint_url", file, f"{prefix}.endpoint_url")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise ConfigError(
            "must be an http:// or https:// URL", file=file, key=f"{prefix}.endpoint_url"
        )
    key_prefix = value.get("prefix", "")
    if not isinstance(key_prefix, str):
        raise ConfigError("must be text", file=file, key=f"{prefix}.prefix")
    keep = value.get("keep_local", True)
    if not isinstance(keep, bool):
        raise ConfigError("must be true or false", file=file, key=f"{prefix}.keep_local")
    return BucketSettings(
        bucket=bucket,
        prefix=key_prefix.lstrip("/"),
        endpoint_url=endpoint,
        region=_text(value, "region", file, f"{prefix}.region"),
        keep_local=keep,
    )


def parse_recording(value: Any, *, file: str) -> RecordingSettings:
    """Validate the block (``true``/``false`` or a mapping); a mapping turns recording on
    unless it says ``enabled: false``."""
    if value is None or value is False:
        return RecordingSettings()
    if value is True:
        value = {}
    if not isinstance(value, Mapping):
        raise ConfigError("must be a mapping or true/false", file=file, key=_PREFIX)
    reject_unknown(value, _KEYS, file, _PREFIX)
    folder = value.get("folder", "recordings")
    if not isinstance(folder, str) or not folder.strip():
        raise ConfigError("must be a folder path", file=file, key=f"{_PREFIX}.folder")
    path = Path(folder).expanduser()
    if not path.is_absolute():
        path = Path(file).resolve().parent / path
    instance = value.get("instance") or socket.gethostname().split(".")[0]
    if not isinstance(instance, str) or not _INSTANCE.match(instance):
        raise ConfigError(
            "must be 1-64 letters, digits, '.', '_' or '-' (it names files)",
            file=file,
            key=f"{_PREFIX}.instance",
        )
    return RecordingSettings(
        enabled=_flag(value, "enabled", True, file),
        folder=path,
        wav=_flag(value, "wav", True, file),
        transcript=_flag(value, "transcript", True, file),
        mask_dtmf=_flag(value, "mask_dtmf", True, file),
        retention_days=_number(value, "retention_days", 30.0, file),
        max_size_mb=_number(value, "max_size_mb", 10_000.0, file),
        instance=instance,
        s3=_parse_bucket(value.get("s3"), file),
    )
