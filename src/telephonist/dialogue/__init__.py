"""The assistant: domain, NLU, flows, slots, responses, tracker. Pure: no audio, no asyncio core."""
