"""The LLM command generator's networking side: an OpenAI-compatible streaming client, the
prompt, and the reading of Rasa Pro's command language from the model's answer.

The dialogue layer stays pure: it builds the prompt's inputs, decides when the NLU is
enough and applies commands (``telephonist.dialogue.llm_turn``); this package talks to the
model server. ``build_generator(project, environ)`` is what the server and the shell call.
"""

from telephonist.llm.generator import LLMCommandGenerator, build_generator

__all__ = ["LLMCommandGenerator", "build_generator"]
