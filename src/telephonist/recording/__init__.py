"""Call recordings and transcripts: the caller and the bot as the caller heard them, written
off the event loop, kept within the operator's retention and size limits."""

from telephonist.recording.recorder import Recorder, RecordingTransport
from telephonist.recording.tap import CallTap

__all__ = ["CallTap", "Recorder", "RecordingTransport"]
