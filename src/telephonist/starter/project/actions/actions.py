"""Custom actions (Rasa SDK). Telephonist runs them in-process (`actions_module: actions`
in endpoints.yml); an action server runs them unchanged: `python -m rasa_sdk --actions actions`.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

# A stand-in for your order system.
ORDERS = {"12345": "out for delivery", "54321": "being packed"}


class ActionLookupOrder(Action):
    """Find the order's status and store it in the `order_status` slot."""

    def name(self) -> str:
        return "action_lookup_order"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[dict[str, Any]]:
        number = tracker.get_slot("order_number")
        key = str(int(number)) if isinstance(number, int | float) else str(number)
        status = ORDERS.get(key)
        if status is None:
            dispatcher.utter_message(text=f"I couldn't find order {key}.")
            return [SlotSet("order_status", "not in our system")]
        dispatcher.utter_message(text="I found your order.")
        return [SlotSet("order_status", status)]
