"""Recognition streams opened at the webhook for authenticated callers, claimed at start."""

from __future__ import annotations

from tests.audio_samples import silence

AUTH = {"username": "u", "password": "p"}


async def test_authenticated_webhook_prewarms_and_the_call_uses_that_stream(serve):
    """The ASR stream exists before the media stream connects, and the call gets it."""
    async with serve(**AUTH) as served:
        caller = served.caller(webhook_url=served.webhook.replace("http://", "http://u:p@"))
        await caller.dial()
        await served.asr.wait_for(lambda: len(served.asr.streams) == 1)
        assert served.runtime.prewarmer.pending == 1
        await caller.connect()
        await served.wait_for_speech(caller, served.assistant.greeting)
        await caller.send_audio(silence(0.2))
        await served.asr.wait_for(lambda: served.asr.streams[0].received > 0)
        assert len(served.asr.streams) == 1 and served.runtime.prewarmer.pending == 0
        await caller.hang_up()


async def test_anonymous_webhook_does_not_open_provider_connections(serve):
    """Without Basic auth or signatures, nothing is opened until a valid stream starts."""
    async with serve() as served:
        caller = served.caller()
        await caller.dial()
        assert served.runtime.prewarmer.pending == 0
        assert served.asr.streams == []
        await caller.connect()
        await served.wait_for_speech(caller, served.assistant.greeting)
        assert len(served.asr.streams) == 1
        await caller.hang_up()


async def test_unclaimed_stream_is_closed_when_the_token_expires(serve):
    """A webhook whose call never connects does not leave a provider stream open."""
    async with serve(stream_token_ttl=30, **AUTH) as served:
        caller = served.caller(webhook_url=served.webhook.replace("http://", "http://u:p@"))
        await caller.dial()
        await served.asr.wait_for(lambda: len(served.asr.streams) == 1)
        await served.clock.advance(29)
        assert not served.asr.streams[0].closed
        await served.clock.advance(2)
        await served.asr.wait_for(lambda: served.asr.streams[0].closed)
        assert served.runtime.prewarmer.pending == 0
