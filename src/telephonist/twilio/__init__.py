"""Twilio: the sans-I/O Media Streams protocol, TwiML, signatures, stream tokens, call control."""
