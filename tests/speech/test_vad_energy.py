"""EnergyVAD: level-to-probability mapping and windowing."""

from __future__ import annotations

import pytest
from tests.audio_samples import dtmf, silence, tone

from telephonist.speech.registry import ProviderContext
from telephonist.speech.vad.energy import EnergyVAD, from_config


def test_loud_is_one_and_silence_is_zero() -> None:
    """A -10 dBFS tone maps to 1.0 and digital silence to 0.0."""
    vad = EnergyVAD()
    assert set(vad.new_stream().probabilities(dtmf(seconds=0.2))) == {1.0}
    assert set(vad.new_stream().probabilities(silence(0.2))) == {0.0}


def test_mid_level_is_between() -> None:
    """A tone halfway between the silence and speech levels scores about 0.5."""
    vad = EnergyVAD(silence_dbfs=-60.0, speech_dbfs=-20.0)
    # A sine's RMS is 3 dB under its peak: -37 dBFS peak -> -40 dBFS RMS, the midpoint.
    probs = vad.new_stream().probabilities(tone((1000.0,), 0.2, dbfs=-37.0))
    assert probs == pytest.approx([0.5] * 10, abs=0.03)


def test_partial_windows_are_carried_over() -> None:
    """Odd-sized chunks yield exactly one probability per whole 20 ms window."""
    stream = EnergyVAD().new_stream()
    counts = [len(stream.probabilities(silence(0.013))) for _ in range(10)]
    assert sum(counts) == int(10 * 0.013 * 8000) // 160
    assert stream.window_ms == 20.0


def test_from_config_validates_keys() -> None:
    """Unknown keys and non-numbers are ConfigErrors naming the key."""
    context = ProviderContext(file="credentials.yml", key="vad", environ={})
    assert from_config({"speech_dbfs": -30}, context).speech_dbfs == -30.0
    with pytest.raises(Exception, match=r"vad\.level"):
        from_config({"level": 3}, context)
    with pytest.raises(Exception, match=r"vad\.window_ms.*number"):
        from_config({"window_ms": "20"}, context)
    with pytest.raises(Exception, match="above"):
        from_config({"speech_dbfs": -70}, context)


async def test_batched_scoring_matches_inline_and_is_not_asked_for() -> None:
    """Scored through the shared batcher, each stream gets what it would get inline; the
    model declares it cheap enough not to need batching."""
    from telephonist.speech.vad.batcher import VADBatcher

    vad = EnergyVAD()
    assert not vad.capabilities.batched and vad.capabilities.threshold == 0.5
    audio = dtmf(seconds=0.1) + silence(0.1)
    batcher = VADBatcher(vad)
    streams = [vad.new_stream(), vad.new_stream()]
    got = [await batcher.score(stream, audio) for stream in streams]
    batcher.close()
    assert got == [vad.new_stream().probabilities(audio)] * 2
    assert got[0] == [1.0] * 5 + [0.0] * 5
