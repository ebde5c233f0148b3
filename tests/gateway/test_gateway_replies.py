"""Rasa's bot messages read for a phone call: speech, the keypad menu and the voice payload
convention. Pure: no sockets."""

from __future__ import annotations

from telephonist.dialogue.turns import BotMessage, CollectDtmf
from telephonist.gateway.replies import Choice, plain_text, read_reply

MENU = {
    "text": "What would you like to do?",
    "buttons": [
        {"title": "Order status", "payload": "/check_order"},
        {"title": "Billing", "payload": '/billing{"topic": "invoice"}'},
    ],
}


def test_texts_are_spoken_in_order():
    """Each text message is one bot message; an empty answer says nothing."""
    reply = read_reply([{"text": "Hello."}, {"text": "How can I help?"}])
    assert reply.turn.messages == (BotMessage("Hello."), BotMessage("How can I help?"))
    assert read_reply([]).turn.messages == ()


def test_buttons_become_a_spoken_keypad_menu():
    """Buttons are read out after the text, keyed 1, 2, ... in order."""
    reply = read_reply([MENU])
    assert reply.turn.messages == (
        BotMessage("What would you like to do? For Order status, press 1. For Billing, press 2."),
    )
    assert reply.choices == (
        Choice("1", "Order status", "/check_order"),
        Choice("2", "Billing", '/billing{"topic": "invoice"}'),
    )


def test_the_menu_phrase_is_configurable_and_a_tenth_button_has_no_key():
    """Keys stop at 9; later buttons can still be chosen by saying their title."""
    buttons = [{"title": f"Option {n}", "payload": f"/o{n}"} for n in range(10)]
    reply = read_reply([{"buttons": buttons}], press="Taste {key}: {title}.")
    assert reply.turn.messages[0].text.startswith("Taste 1: Option 0. Taste 2: Option 1.")
    assert "Option 9" not in reply.turn.messages[0].text
    assert reply.choices[9] == Choice(None, "Option 9", "/o9")


def test_text_and_custom_arrive_as_two_messages_and_are_joined():
    """Rasa 3.6 sends a response's custom payload after its text: it shapes that text."""
    reply = read_reply(
        [
            {"text": "Your order number?"},
            {"custom": {"collect_dtmf": {"length": 6}, "allow_interruptions": False}},
        ]
    )
    assert reply.turn.messages == (BotMessage("Your order number?", allow_interruptions=False),)
    assert reply.turn.collect_dtmf == CollectDtmf(length=6)


def test_hangup_transfer_and_silence_timeout_control_the_call():
    """The call-control keys of the voice payload convention."""
    reply = read_reply(
        [
            {"text": "Goodbye."},
            {"custom": {"hangup": True, "transfer": " +15550100 ", "silence_timeout": 4}},
        ]
    )
    assert (reply.turn.hang_up, reply.turn.transfer_to) == (True, "+15550100")
    assert reply.turn.silence_timeout == 4.0


def test_finish_on_key_collect():
    """``collect_dtmf: {finish_on_key: "#"}`` buffers keys until the pound key."""
    reply = read_reply([{"custom": {"collect_dtmf": {"finish_on_key": "#"}}}])
    assert reply.turn.collect_dtmf == CollectDtmf(finish_on_key="#")
    assert reply.turn.messages == ()


def test_ssml_goes_to_a_tts_that_takes_it():
    """With an SSML-capable TTS the text keeps its SSML and voice."""
    ssml = "<speak>Order <say-as interpret-as='digits'>42</say-as>.</speak>"
    answer = [{"text": "Order 42."}, {"custom": {"ssml": ssml, "voice": "en-US-AvaNeural"}}]
    reply = read_reply(answer, ssml_ok=True)
    assert reply.turn.messages == (BotMessage("Order 42.", ssml=ssml, voice="en-US-AvaNeural"),)
    assert not reply.ssml_dropped


def test_ssml_for_a_tts_without_ssml_is_spoken_as_its_text():
    """Without SSML support the text is spoken; SSML alone is reduced to its words."""
    reply = read_reply([{"text": "Order 42."}, {"custom": {"ssml": "<speak>x</speak>"}}])
    assert reply.turn.messages == (BotMessage("Order 42."),)
    assert reply.ssml_dropped
    alone = read_reply([{"custom": {"ssml": "<speak>Fish &amp; <break/> chips</speak>"}}])
    assert alone.turn.messages == (BotMessage("Fish & chips"),)


def test_custom_text_is_a_message_of_its_own():
    """A custom payload with ``text`` is spoken (Rasa Pro style ``custom: {text: ...}``)."""
    reply = read_reply([{"text": "One."}, {"custom": {"text": "Two.", "hangup": True}}])
    assert [m.text for m in reply.turn.messages] == ["One.", "Two."]
    assert reply.turn.hang_up


def test_transfer_without_credentials_is_told_to_the_caller():
    """No REST credentials: the caller hears why instead of being cut off."""
    reply = read_reply(
        [{"text": "Connecting you."}, {"custom": {"transfer": "+15550100"}}],
        can_transfer=False,
        no_transfer="Sorry, no transfers today.",
    )
    assert reply.turn.transfer_to is None
    assert [m.text for m in reply.turn.messages] == [
        "Connecting you.",
        "Sorry, no transfers today.",
    ]
    assert reply.transfer_refused and not reply.problems


def test_images_attachments_and_bad_payloads_are_skipped_without_failing():
    """What cannot be heard is skipped; malformed parts are reported, the rest is spoken."""
    reply = read_reply(
        [
            {"image": "https://example.com/a.png"},
            {"attachment": {"type": "file"}},
            "not a message",
            {"custom": "not an object"},
            {"custom": {"collect_dtmf": {"length": "six", "finish_on_key": "##"}}},
            {"buttons": [{"title": "No payload"}]},
            {"text": "Still here."},
        ]
    )
    assert reply.turn.messages == (BotMessage("Still here."),)
    assert reply.turn.collect_dtmf is None
    assert len(reply.problems) == 5


def test_plain_text_of_ssml():
    """Tags go, entities are decoded, spaces are collapsed."""
    assert plain_text("<speak><p>A &lt; B</p>\n<p>C</p></speak>") == "A < B C"


def test_sensitive_marks_the_question_secret():
    """``sensitive: true`` pauses recordings while the question waits; a non-boolean is a
    problem, ignored."""
    reply = read_reply([{"text": "Your card number?"}, {"custom": {"sensitive": True}}])
    assert reply.turn.sensitive and not reply.problems
    assert not read_reply([{"text": "Hello."}]).turn.sensitive
    wrong = read_reply([{"custom": {"sensitive": "yes"}}])
    assert not wrong.turn.sensitive
    assert wrong.problems == ("sensitive must be true or false",)
