"""A Twilio stand-in: places calls against any Media Streams server, exactly as Twilio does."""
