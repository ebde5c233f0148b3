"""The gateway to a running Rasa server: Telephonist as the voice front end of any Rasa
assistant (Open Source 3.x or Pro), over Rasa's REST channel.

Selected by an ``assistant: {type: rasa, url: ...}`` block in endpoints.yml or by
``telephonist run --rasa-url URL``; Rasa then decides the whole dialogue.
"""

from telephonist.gateway.assistant import RasaAssistant
from telephonist.gateway.client import RasaClient
from telephonist.gateway.settings import GatewaySettings, parse_gateway, settings_for_url

__all__ = ["GatewaySettings", "RasaAssistant", "RasaClient", "parse_gateway", "settings_for_url"]
