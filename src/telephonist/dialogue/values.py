"""Reading slot values out of what a caller said: numbers (also spoken: "twenty five"),
digit strings ("one two three four" → "1234"), yes/no, and categorical values with fuzzy
tolerance for speech-recognition errors."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

__all__ = ["match_category", "parse_bool", "parse_digits", "parse_number", "words"]

_UNITS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "a": 1,
    "an": 1,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_DIGIT_WORDS = {w: str(v) for w, v in _UNITS.items() if v < 10 and w not in ("a", "an")}
_DIGIT_WORDS.update({"double": "", "to": "2", "too": "2", "for": "4", "won": "1", "ate": "8"})
_NUMERIC = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_WORD = re.compile(r"[a-z0-9']+(?:\.\d+)?")

_YES = {
    "yes",
    "yeah",
    "yep",
    "yup",
    "ya",
    "sure",
    "correct",
    "right",
    "ok",
    "okay",
    "absolutely",
    "definitely",
    "affirmative",
    "indeed",
    "true",
    "please",
    "certainly",
    "exactly",
}
_NO = {
    "no",
    "nope",
    "nah",
    "not",
    "don't",
    "dont",
    "never",
    "negative",
    "false",
    "wrong",
    "incorrect",
}
_YES_PHRASES = ("that's right", "that is right", "go ahead", "sounds good", "of course")
_NO_PHRASES = ("not really", "no thanks", "no thank you", "i don't think so", "not at all")


def words(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes kept, punctuation dropped)."""
    return _WORD.findall(text.lower())


def _spoken_number(tokens: list[str]) -> float | None:
    total, current, seen = 0, 0, False
    for token in tokens:
        if token == "and" and seen:
            continue
        if token in _UNITS and not (token in ("a", "an") and seen):
            if seen and (current % 10 or 10 <= current % 100 < 20):
                break  # "ten five" is not one number
            current += _UNITS[token]
        elif token in _TENS:
            if seen and current % 100:
                break  # "ten thirty" (a time) reads as ten
            current += _TENS[token]
        elif token in _SCALES and (seen or token == "hundred"):
            scale = _SCALES[token]
            if scale == 100:
                current = (current or 1) * 100
            else:
                total += (current or 1) * scale
                current = 0
        elif seen:
            break
        else:
            continue
        seen = True
    return float(total + current) if seen else None


def parse_number(text: str) -> float | None:
    """The first number in ``text``: "42", "1,200.50", "twenty five", "a hundred and five"."""
    match = _NUMERIC.search(text)
    if match is not None:
        try:
            return float(match.group(0).replace(",", ""))
        except ValueError:
            return None
    tokens = [t for t in words(text) if t in _UNITS or t in _TENS or t in _SCALES or t == "and"]
    if not tokens or all(t in ("a", "an", "and") for t in tokens):
        return None
    return _spoken_number(words(text))


def parse_digits(text: str) -> str | None:
    """A digit string from keypad or speech: "1234", "12 34", "one two three four"."""
    compact = re.sub(r"[\s\-.,]", "", text)
    if re.fullmatch(r"[0-9*#]+", compact):
        return compact
    out = []
    for token in words(text):
        if token.isdigit():
            out.append(token)
        elif token in _DIGIT_WORDS:
            out.append(_DIGIT_WORDS[token])
        elif token in ("and", "uh", "um", "it's", "its", "is", "my", "number"):
            continue
        else:
            return None
    digits = "".join(out)
    return digits or None


def parse_bool(text: str) -> bool | None:
    """Yes → True, no → False, neither (or both) → None."""
    lowered = text.lower()
    if any(p in lowered for p in _NO_PHRASES):
        return False
    if any(p in lowered for p in _YES_PHRASES):
        return True
    tokens = set(words(text))
    yes, no = bool(tokens & _YES), bool(tokens & _NO)
    if yes == no:
        return None
    return yes


def match_category(
    text: str,
    values: Iterable[str],
    synonyms: Mapping[str, str] | None = None,
    cutoff: float = 0.8,
) -> str | None:
    """The categorical value the text names, tolerating small misrecognitions."""
    choices = {v.lower(): v for v in values}
    for variant, value in (synonyms or {}).items():
        if value.lower() in choices:
            choices.setdefault(variant.lower(), choices[value.lower()])
    lowered = " ".join(words(text))
    if lowered in choices:
        return choices[lowered]
    padded = f" {lowered} "
    for key in sorted(choices, key=len, reverse=True):
        if f" {key} " in padded:
            return choices[key]
    tokens = lowered.split()
    candidates = tokens + [" ".join(tokens[i : i + 2]) for i in range(len(tokens) - 1)]
    best: tuple[float, str] | None = None
    for candidate in candidates:
        for key, value in choices.items():
            ratio = difflib.SequenceMatcher(None, candidate, key).ratio()
            if ratio >= cutoff and (best is None or ratio > best[0]):
                best = (ratio, value)
    return None if best is None else best[1]
