"""Speech providers (ASR, TTS) and voice activity detection, each behind one small Protocol."""
