"""What the simulated caller does: a list of steps, from a script file or the command line.

One step per line; `` # `` (with spaces) or a leading ``#`` starts a comment::

    say I'd like to check my order     # spoken with the local TTS
    audio recordings/order.wav         # any WAV (resampled); relative to the script file
    dtmf 1234#                         # one dtmf event per key (0-9 * # A-D)
    wait                               # until the bot has answered and finished speaking
    wait 2.5                           # 2.5 s (the line stays open: silence is streamed)
    silence 8                          # 8 s of silence, e.g. to trigger the silence timeout
    barge_in_after 0.5                 # the next say/audio starts 0.5 s into the bot's audio
    hangup                             # send ``stop`` and close

``say``, ``audio`` and ``dtmf`` first wait until the bot is quiet (it has answered the last
thing said and finished playing), as a polite caller does, unless ``barge_in_after`` came
just before. After the last step the caller waits for the bot to finish, then hangs up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from telephonist.errors import ConfigError

__all__ = [
    "Audio",
    "BargeInAfter",
    "Dtmf",
    "HangUp",
    "Say",
    "Silence",
    "Step",
    "Wait",
    "parse_script",
    "read_script",
]

DTMF_KEYS = re.compile(r"^[0-9*#A-Da-d]+$")
COMMENT = re.compile(r"\s#\s")
"""A comment is ``#`` at the start of a line or between spaces (``dtmf 12#`` presses #)."""


@dataclass(frozen=True, slots=True)
class Say:
    """Speak ``text`` (synthesised)."""

    text: str


@dataclass(frozen=True, slots=True)
class Audio:
    """Play a WAV file into the call."""

    path: Path


@dataclass(frozen=True, slots=True)
class Dtmf:
    """Press keys."""

    digits: str


@dataclass(frozen=True, slots=True)
class Wait:
    """Pause for ``seconds``; ``None`` waits until the bot is quiet."""

    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Silence:
    """Stay silent for ``seconds`` without first waiting for the bot."""

    seconds: float


@dataclass(frozen=True, slots=True)
class BargeInAfter:
    """Start the next spoken step ``seconds`` after the bot's audio starts playing."""

    seconds: float


@dataclass(frozen=True, slots=True)
class HangUp:
    """End the call as the caller."""


Step = Say | Audio | Dtmf | Wait | Silence | BargeInAfter | HangUp


def _seconds(value: str, where: str, file: str, *, optional: bool = False) -> float | None:
    if not value and optional:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(
            f"expected a number of seconds, got {value!r}", file=file, key=where
        ) from None
    if not 0 <= seconds <= 3600:
        raise ConfigError("seconds must be between 0 and 3600", file=file, key=where)
    return seconds


def dtmf_step(digits: str, *, file: str = "--dtmf", where: str = "") -> Dtmf:
    """A validated `Dtmf` step."""
    if not DTMF_KEYS.match(digits):
        raise ConfigError(
            f"DTMF keys are 0-9 * # A-D, got {digits!r}", file=file, key=where or None
        )
    return Dtmf(digits.upper())


def parse_line(line: str, *, file: str, number: int, base: Path) -> Step | None:
    """One script line as a step (None for a blank or comment line)."""
    words = line.split(None, 2)
    if words and words[0].lower() == "dtmf" and len(words) > 1:  # the keys may hold '#'
        line = f"{words[0]} {words[1]} " + (words[2] if len(words) > 2 else "")
        keys_end = len(words[0]) + len(words[1]) + 1
        text = line[:keys_end] + COMMENT.split(line[keys_end:] + " ", 1)[0]
    else:
        text = "" if line.lstrip().startswith("#") else COMMENT.split(line + " ", 1)[0]
    text = text.strip()
    if not text:
        return None
    where = f"line {number}"
    verb, _, rest = text.partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb == "say":
        spoken = rest.strip("\"'").strip()
        if not spoken:
            raise ConfigError("say needs the text to speak", file=file, key=where)
        return Say(spoken)
    if verb == "audio":
        if not rest:
            raise ConfigError("audio needs a WAV file path", file=file, key=where)
        path = Path(rest.strip("\"'"))
        return Audio(path if path.is_absolute() else base / path)
    if verb == "dtmf":
        return dtmf_step(rest.split()[0] if rest else "", file=file, where=where)
    if verb == "wait":
        return Wait(_seconds(rest, where, file, optional=True))
    if verb == "silence":
        return Silence(_seconds(rest, where, file) or 0.0)
    if verb == "barge_in_after":
        return BargeInAfter(_seconds(rest, where, file) or 0.0)
    if verb in ("hangup", "hang_up"):
        if rest:
            raise ConfigError("hangup takes no argument", file=file, key=where)
        return HangUp()
    raise ConfigError(
        f"unknown step {verb!r}; steps are say, audio, dtmf, wait, silence, barge_in_after, hangup",
        file=file,
        key=where,
    )


def parse_script(text: str, *, file: str = "script", base: Path | None = None) -> list[Step]:
    """Every step of a script's text; `ConfigError` names the file and line of a bad step."""
    steps = []
    for number, line in enumerate(text.splitlines(), start=1):
        step = parse_line(line, file=file, number=number, base=base or Path.cwd())
        if step is not None:
            steps.append(step)
    for before, after in zip(steps, [*steps[1:], None], strict=True):
        if isinstance(before, BargeInAfter) and not isinstance(after, Say | Audio):
            raise ConfigError("barge_in_after must be followed by say or audio", file=file)
    return steps


def read_script(path: Path) -> list[Step]:
    """Parse a script file; audio paths are relative to its directory."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read script: {exc.strerror}", file=str(path)) from None
    return parse_script(text, file=str(path), base=path.parent)
