"""The inspector page in a real headless Chromium (Debian's chromium, driven by Playwright):
a simulated Twilio call appears live, and the browser phone calls the bot with a fake
microphone playing real recorded speech."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.audio_samples import load_prompt, silence
from tests.fakes.scripted import ScriptedAssistant

from telephonist.audio import mulaw
from telephonist.audio.resample import float_to_pcm16, resample
from telephonist.call.clock import SystemClock
from telephonist.call.events import BotMessageStarted, CallEnded, EventKind, KeyPressed, MarkPlayed
from telephonist.dialogue.turns import AssistantTurn, BotMessage, SessionStart, UserText
from telephonist.server.inspector import INSPECT_PATH
from telephonist.speech.asr.base import Partial

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
FAKE_MIC_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
SPEECH = "agent-pass"  # "Please enter your password followed by the pound key."
TIMEOUT_MS = 20_000

try:
    from playwright.async_api import Browser, Page, async_playwright, expect
except ImportError:  # pragma: no cover - depends on the environment
    async_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        async_playwright is None, reason="playwright is not installed (pip install -e '.[dev]')"
    ),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]

STATE = {
    "flow_stack": [{"flow_id": "book_table", "step_id": "ask_time"}],
    "slots": {"party_size": 2, "booking_time": None},
    "latest_intent": {"name": "book_table", "confidence": 0.93},
    "entities": [{"entity": "number", "value": 2}],
}


def stateful(event: Any) -> AssistantTurn | None:
    """Answer like the scripted assistant, and report a dialogue state with each reply."""
    if isinstance(event, UserText):
        return AssistantTurn(messages=(BotMessage(f"You said {event.text}"),), state=STATE)
    return None


def speech_wav(path: Path) -> Path:
    """Real recorded speech as a 48 kHz 16-bit mono WAV (Chromium's fake microphone plays it
    in a loop): a second of silence, the prompt, then two seconds of silence."""
    pcm = mulaw.decode(silence(1.0) + load_prompt(SPEECH).mulaw + silence(2.0))
    samples = float_to_pcm16(resample(pcm, 8000, 48000))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(48000)
        wav.writeframes(samples.astype("<i2").tobytes())
    return path


@asynccontextmanager
async def open_browser(extra_args: list[str]) -> AsyncIterator[Browser]:
    """Headless Debian Chromium (never a downloaded one)."""
    assert async_playwright is not None
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + extra_args
        )
        try:
            yield browser
        finally:
            await browser.close()


async def inspector_page(browser: Browser, base_url: str) -> tuple[Page, list[str]]:
    """The inspector at laptop size, connected to the live feed; and its console errors."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{base_url}{INSPECT_PATH}")
    await expect(page.locator("#feed-status")).to_have_text("Live", timeout=TIMEOUT_MS)
    return page, errors


def screenshot_path(name: str) -> Path:
    """Where a screenshot artefact goes."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


async def test_simulated_call_appears_live(serve):
    """A Twilio call's transcript (partial, final, bot), slots, intent, silence, keypress and
    timeline (speech, ASR, bot audio, latency) appear live; the list shows it ended."""
    async with serve(
        inspect=True,
        clock=SystemClock(),
        transcripts=["a table for two"],
        assistant=ScriptedAssistant(respond=stateful),
        monitor_silence=True,
        silence_timeout=1.0,
    ) as served:
        async with open_browser([]) as browser:
            page, errors = await inspector_page(browser, served.base_url)
            caller = served.caller()
            await caller.dial()
            await caller.connect()
            caller.realtime_playout()
            await served.wait_for_speech(caller, served.assistant.greeting)
            await served.wait_event(EventKind.PLAYBACK_DONE)
            served.asr.streams[0].inject(Partial("a tab"))
            await expect(page.locator("#transcript .partial")).to_have_text(
                "Caller (partial)a tab", timeout=TIMEOUT_MS
            )
            reply = asyncio.create_task(served.wait_for_speech(caller, "You said a table for two"))
            await caller.send_audio(
                load_prompt(SPEECH).mulaw + silence(1.0), pace=lambda: asyncio.sleep(0.02)
            )  # caller speaks in real time
            await reply

            transcript = page.locator("#transcript")
            await expect(transcript).to_contain_text("a table for two", timeout=TIMEOUT_MS)
            await expect(transcript).to_contain_text("You said a table for two")
            await expect(page.locator("#transcript .partial")).to_have_count(0)
            await expect(page.locator("#detail-title")).to_contain_text(caller.call_sid)
            state = page.locator("#state")
            await expect(state).to_contain_text("party_size")
            await expect(state).to_contain_text("book_table · ask_time")
            await expect(state).to_contain_text("0.93")
            timeline = page.locator("#timeline svg")
            for part in ("tl-speech", "tl-final", "tl-bot", "tl-latency"):
                await expect(timeline.locator(f".{part}").first).to_be_attached()
            await expect(timeline.locator(".tl-latency text")).to_contain_text(" ms (ASR ")

            await served.wait_event(EventKind.SILENCE, within=10)
            await expect(transcript).to_contain_text("Silence timeout #1 after 1 s")
            await expect(timeline.locator(".tl-silence").first).to_be_attached()
            await caller.send_dtmf("5")
            await expect(transcript).to_contain_text("Keypress 5")
            await expect(timeline.locator(".tl-dtmf")).to_contain_text("Keypress 5")
            await page.screenshot(path=screenshot_path("inspector-simulated-call.png"))

            await caller.hang_up()
            row = page.locator("#call-rows tr", has_text=caller.call_sid[:9])
            await expect(row).to_contain_text("ended: caller hung up", timeout=TIMEOUT_MS)
            assert errors == []


async def test_browser_phone_calls_the_bot(serve, tmp_path):
    """ "Call the bot" with Chromium's fake microphone playing recorded speech: the call
    reaches the assistant as a CAbrowser call, is transcribed, and the bot answers."""
    wav = speech_wav(tmp_path / "speech.wav")
    async with serve(
        inspect=True,
        clock=SystemClock(),
        transcripts=["a table for two"] * 4,
        assistant=ScriptedAssistant(respond=stateful),
    ) as served:
        async with open_browser(
            [*FAKE_MIC_ARGS, f"--use-file-for-fake-audio-capture={wav}"]
        ) as browser:
            page, errors = await inspector_page(browser, served.base_url)
            decoded = await page.evaluate("""async () => {
                const { mulawDecode } = await import("./inspect/assets/phone.js");
                return Array.from({ length: 256 }, (_, i) => mulawDecode(i)); }""")
            assert decoded == mulaw.decode(bytes(range(256))).tolist()

            await page.get_by_role("button", name="Call the bot").click()
            await expect(page.locator("#phone-status")).to_contain_text(
                "In a call", timeout=TIMEOUT_MS
            )
            await served.assistant.wait_for(
                lambda: bool(served.assistant.of_type(UserText)), within=30
            )
            start = served.assistant.of_type(SessionStart)[0]
            assert start.metadata["call_id"].startswith("CAbrowser")
            assert served.assistant.of_type(UserText)[0].text == "a table for two"
            transcript = page.locator("#transcript")
            await expect(transcript).to_contain_text("You said a table for two", timeout=TIMEOUT_MS)
            await expect(page.locator("#detail-title")).to_contain_text("CAbrowser")
            await expect(page.locator("#timeline .tl-speech").first).to_be_attached()
            reply = next(
                e for e in served.kinds(BotMessageStarted) if e.text == "You said a table for two"
            )
            await served.wait_event(EventKind.PLAYBACK_DONE, count=2, within=15)
            assert any(e.message_id == reply.message_id for e in served.kinds(MarkPlayed)), (
                "the page echoed the reply's marks as its WebAudio playback reached them"
            )
            received = served.asr.streams[0].received
            assert received >= 8000, "at least a second of microphone audio reached the ASR"
            await page.screenshot(path=screenshot_path("inspector.png"))

            await page.get_by_role("button", name="7", exact=True).click()
            await served.wait_event(EventKind.DTMF)
            assert served.kinds(KeyPressed)[0].digit == "7"
            await page.get_by_role("button", name="Hang up").click()
            await expect(page.locator("#phone-status")).to_have_text("You hung up.")
            await served.wait_event(EventKind.CALL_ENDED)
            assert served.kinds(CallEnded)[0].reason == "caller hung up"
            assert errors == []


async def test_page_behind_basic_auth_goes_live_with_credentials(serve):
    """Bound beyond loopback, the browser is challenged; with the credentials the page, its
    assets, the ticket and the feed all work (websocket via the ticket)."""
    auth = {"username": "inspector", "password": "browser-test-password"}
    async with (
        serve(inspect=True, interface="0.0.0.0", **auth) as served,
        open_browser([]) as browser,
    ):
        anonymous = (await browser.new_context()).request
        assert (await anonymous.get(f"{served.base_url}{INSPECT_PATH}")).status == 401
        context = await browser.new_context(
            http_credentials={"username": auth["username"], "password": auth["password"]},
            viewport={"width": 1280, "height": 800},
        )
        page = await context.new_page()
        await page.goto(f"{served.base_url}{INSPECT_PATH}")
        await expect(page.locator("#feed-status")).to_have_text("Live", timeout=TIMEOUT_MS)
        caller = await served.connected_call(
            webhook_url=served.webhook.replace("http://", "http://inspector:browser-test-password@")
        )
        await expect(page.locator("#detail-title")).to_contain_text(
            caller.call_sid, timeout=TIMEOUT_MS
        )
        await expect(page.locator("#transcript")).to_contain_text(served.assistant.greeting)
        await page.screenshot(path=screenshot_path("inspector-1280.png"))
        await caller.hang_up()
