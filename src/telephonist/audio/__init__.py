"""Audio formats, the G.711 mu-law codec, resampling and framing. Pure: no I/O, no asyncio."""
