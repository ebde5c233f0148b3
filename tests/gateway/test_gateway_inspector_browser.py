"""The inspector's dialogue-state panel for gateway calls, in headless Chromium: Rasa's slots,
latest intent and active form; or, without Rasa's HTTP API, a line saying so."""

from __future__ import annotations

from tests.fakes.rasa_server import FakeRasa
from tests.gateway.test_gateway_call import gateway_for
from tests.server.conftest import serve, silero
from tests.server.test_inspector_browser import (
    TIMEOUT_MS,
    inspector_page,
    open_browser,
    pytestmark,
    screenshot_path,
)

from telephonist.call.clock import SystemClock
from telephonist.server.gateway_setup import watch_gateway_state

__all__ = ["pytestmark", "serve", "silero"]

GREETING = "Welcome to the parcel line."


async def test_the_state_panel_shows_rasas_tracker_or_says_it_cannot(serve):
    """First call: the tracker's slot, intent and form appear; second call, with the API
    off: the panel explains that Rasa's tracker cannot be read."""
    from playwright.async_api import expect  # the module is skipped without playwright

    fake = FakeRasa(answers={"/session_start": [{"text": GREETING}]})
    async with fake.running() as url, serve(inspect=True, clock=SystemClock()) as served:
        assistant = gateway_for(url, served.runtime.events)
        watch_gateway_state(assistant, served.runtime.events, served.clock)
        served.runtime.assistant = assistant
        served.assistant.greeting = GREETING
        async with open_browser([]) as browser:
            page, errors = await inspector_page(browser, served.base_url)
            caller = served.caller()
            fake.trackers[caller.call_sid] = {
                "slots": {"order_number": "1234", "requested_slot": "email"},
                "latest_message": {"intent": {"name": "check_order", "confidence": 0.88}},
                "active_loop": {"name": "order_form"},
            }
            await caller.dial()
            await caller.connect()
            state = page.locator("#state")
            await expect(state).to_contain_text("order_number", timeout=TIMEOUT_MS)
            await expect(state).to_contain_text("check_order")
            await expect(state).to_contain_text("form order_form · email")
            await page.screenshot(path=screenshot_path("inspector-rasa-state.png"))
            await caller.hang_up()

            fake.api = False
            second = served.caller()
            await second.dial()
            await second.connect()
            row = page.locator("#call-rows tr", has_text=second.call_sid[:9])
            await row.click()
            await expect(state).to_contain_text(
                "Rasa's tracker is not readable", timeout=TIMEOUT_MS
            )
            await expect(state).to_contain_text("--enable-api")
            await second.hang_up()
            assert errors == []
        await assistant.close()
