"""Telephonist: answer phone calls with a conversational assistant over Twilio Media Streams."""

__version__ = "0.1.0"

__all__ = ["__version__"]
