"""Logging set-up for the command line: plain text or one JSON object per line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

__all__ = ["LOG_LEVELS", "add_log_level_argument", "configure_logging"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def add_log_level_argument(parser: argparse.ArgumentParser) -> None:
    """``--log-level``, in either case (``warning`` or ``WARNING``, as uvicorn takes it)."""
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=LOG_LEVELS,
        metavar="LEVEL",
        help="debug, info (default), warning or error; either case",
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the call id and event fields when present (and the
    process id, for the workers of one run)."""

    def __init__(self, with_pid: bool = False) -> None:
        super().__init__()
        self.with_pid = with_pid

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.with_pid:
            entry["pid"] = record.process
        for key in ("call_id", "event", "fields"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger [call] message``."""

    def format(self, record: logging.LogRecord) -> str:
        call = getattr(record, "call_id", "")
        record.call_tag = f" [{call}]" if call else ""
        return super().format(record)


def configure_logging(level: str = "INFO", fmt: str = "text", *, with_pid: bool = False) -> None:
    """Install one stderr handler on the root logger; ``with_pid`` tags each line with the
    process id (the workers of one run write to the same stderr)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(with_pid))
    else:
        pid = " [%(process)d]" if with_pid else ""
        handler.setFormatter(
            TextFormatter(
                f"%(asctime)s %(levelname)-7s{pid} %(name)s%(call_tag)s %(message)s", "%H:%M:%S"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.error", "uvicorn.access", "websockets", "httpx", "faster_whisper"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
