"""The timeline without sockets: bot audio placed where Twilio plays it, dated by mark echoes,
cut by clear, silenced while paused, bounded."""

from __future__ import annotations

from telephonist.recording.timeline import HOLD_BYTES, MAX_PENDING_BYTES, Timeline

FRAME = 160
CALLER = b"\x10" * FRAME
SILENCE = 0xFF


def tone(n_bytes: int, value: int = 0x20) -> bytes:
    """Recognisable bot audio."""
    return bytes([value]) * n_bytes


class Line:
    """A timeline fed caller frames, its tracks taken in steps as they fall due (as the call
    tap does) and kept."""

    def __init__(self) -> None:
        self.timeline = Timeline()
        self._caller = bytearray()
        self._bot = bytearray()

    def frames(self, count: int) -> None:
        """``count`` caller frames arrive."""
        for _ in range(count):
            self.timeline.caller(CALLER)
            if self.timeline.due:
                self._keep(*self.timeline.take())

    def end(self) -> tuple[bytes, bytes]:
        """Both whole tracks."""
        self._keep(*self.timeline.take(final=True))
        return bytes(self._caller), bytes(self._bot)

    def _keep(self, caller: bytes, bot: bytes) -> None:
        assert len(caller) == len(bot)
        self._caller += caller
        self._bot += bot


def first_sound(track: bytes, value: int = 0x20) -> int:
    """Index of the first byte of bot audio."""
    return track.index(bytes([value]))


def test_audio_sent_ahead_plays_at_eight_bytes_per_ms_from_when_it_was_sent():
    """A message sent at frame 10, faster than real time, is heard from frame 10, whole."""
    line = Line()
    timeline = line.timeline
    line.frames(10)
    for _ in range(5):
        timeline.sent_audio(tone(800))
    timeline.sent_mark("m1")
    line.frames(100)
    caller, bot = line.end()
    assert len(caller) == len(bot) == 110 * FRAME
    assert caller == CALLER * 110
    assert first_sound(bot) == 10 * FRAME
    assert bot.count(0x20) == 4000
    assert bot[10 * FRAME + 4000 :] == bytes([SILENCE]) * (100 * FRAME - 4000)


def test_a_late_echo_places_the_burst_one_round_trip_later():
    """Echoes arriving 5 frames after the model reaches their mark shift the burst by 5
    frames, and the next burst too (the delay is the line's, not the message's)."""
    line = Line()
    timeline = line.timeline
    line.frames(2)
    timeline.sent_audio(tone(4000))
    timeline.sent_mark("a")
    line.frames(25 + 5)  # 4000 bytes play in 25 frames, then the echo's trip
    timeline.echoed("a")
    line.frames(40)
    timeline.sent_audio(tone(1600, 0x30))
    timeline.sent_mark("b")
    line.frames(40)
    bot = line.end()[1]
    assert first_sound(bot) == (2 + 5) * FRAME
    assert bot.count(0x20) == 4000
    assert first_sound(bot, 0x30) == (2 + 25 + 5 + 40 + 5) * FRAME


def test_clear_cuts_the_bot_where_the_caller_stopped_hearing_it():
    """Audio queued after a clear is never heard; their marks' echoes prove nothing."""
    line = Line()
    timeline = line.timeline
    timeline.sent_audio(tone(8000))  # 1 s
    timeline.sent_mark("end")
    line.frames(20)
    timeline.sent_clear()
    timeline.echoed("end")  # echoed by the clear, not by playback
    line.frames(50)
    _, bot = line.end()
    assert bot[: 20 * FRAME] == tone(20 * FRAME)
    assert bot[20 * FRAME :] == bytes([SILENCE]) * (50 * FRAME)


def test_the_echoes_a_clear_causes_date_the_cut():
    """Twilio echoes the marks a clear dropped when it clears: a clear that took effect three
    frames after it was sent cuts three frames later (the caller heard them)."""
    line = Line()
    timeline = line.timeline
    timeline.sent_audio(tone(8000))
    timeline.sent_mark("half")
    timeline.sent_audio(tone(8000))
    timeline.sent_mark("end")
    line.frames(20)
    timeline.sent_clear()
    line.frames(3)
    timeline.echoed("half")  # dropped by the clear, echoed at once by Twilio...
    line.frames(2)
    timeline.echoed("end")  # ...the second echo proves nothing more
    line.frames(50)
    _, bot = line.end()
    assert bot[: 23 * FRAME] == tone(23 * FRAME)
    assert bot[23 * FRAME :] == bytes([SILENCE]) * (52 * FRAME)


def test_tracks_are_taken_behind_the_caller_then_to_the_end():
    """Steps stay ``HOLD_BYTES`` behind the caller until the end takes the rest."""
    timeline = Timeline()
    for _ in range(150):
        timeline.caller(CALLER)
    assert timeline.due
    caller, bot = timeline.take()
    assert len(caller) == len(bot) == 150 * FRAME - HOLD_BYTES
    assert not timeline.due
    caller, _ = timeline.take(final=True)
    assert len(caller) == HOLD_BYTES
    assert timeline.take(final=True) == (b"", b"")


def test_a_pause_silences_both_tracks():
    """Caller and bot audio between pause and resume come out as silence."""
    line = Line()
    timeline = line.timeline
    timeline.sent_audio(tone(20 * FRAME))
    line.frames(5)
    timeline.pause()
    line.frames(10)
    timeline.resume()
    line.frames(10)
    caller, bot = line.end()
    quiet = bytes([SILENCE]) * (10 * FRAME)
    assert caller[5 * FRAME : 15 * FRAME] == quiet and bot[5 * FRAME : 15 * FRAME] == quiet
    assert caller[15 * FRAME :] == CALLER * 10
    assert bot[15 * FRAME : 20 * FRAME] == tone(5 * FRAME)


def test_pending_bot_audio_is_bounded():
    """More than two minutes of bot audio sent ahead is dropped and counted."""
    timeline = Timeline()
    for _ in range(MAX_PENDING_BYTES // 8000 + 3):
        timeline.sent_audio(tone(8000))
    assert timeline.dropped_bytes == 3 * 8000
