"""Mark bookkeeping: what the caller heard, and echoes after clear that prove nothing."""

from __future__ import annotations

from telephonist.twilio.playback import Playback


def test_echoes_track_what_was_heard():
    """Each echoed mark advances the heard offset of its message; all echoed = not playing."""
    playback = Playback()
    playback.sent("a", 1, 4000, final=False)
    playback.sent("b", 1, 6000, final=True)
    assert playback.playing and playback.current_message() == 1
    first = playback.echoed("a")
    assert first is not None and first.offset == 4000
    assert playback.heard_bytes(1) == 4000
    last = playback.echoed("b")
    assert last is not None and last.final
    assert not playback.playing
    assert playback.heard_bytes(1) == 6000


def test_echoes_after_clear_are_ignored():
    """A clear makes every pending mark's echo meaningless."""
    playback = Playback()
    playback.sent("a", 1, 4000, final=False)
    playback.sent("b", 1, 8000, final=True)
    playback.echoed("a")
    playback.cleared()
    assert not playback.playing
    assert playback.echoed("b") is None
    assert playback.heard_bytes(1) == 4000


def test_unknown_echo_is_ignored_and_forget_frees_memory():
    """Echoes of marks never sent do nothing; forget drops a finished message."""
    playback = Playback()
    assert playback.echoed("zzz") is None
    playback.sent("a", 7, 100, final=True)
    playback.echoed("a")
    playback.forget(7)
    assert playback.heard_bytes(7) == 0
