"""The prompt a model reads: our own template, or the project's ``prompt_template``.

Both are Jinja, rendered (sandboxed) with the inputs of
:func:`telephonist.dialogue.llm_context.prompt_context` — the variable names Rasa Pro's
templates use — so a Rasa project's custom prompt keeps working. Ours asks for the compact
command language, one command a line, which streams well: each finished line is a command.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import StrictUndefined, Template, Undefined
from jinja2.sandbox import SandboxedEnvironment

from telephonist.dialogue.llm_context import PromptContext

__all__ = ["DEFAULT_TEMPLATE", "PromptBuilder"]

DEFAULT_TEMPLATE = """\
You work for a phone line. Read what the caller just said and write the commands that move \
the call forward. The caller's words come from speech recognition and may be slightly wrong.

Write one command per line and nothing else. The commands:
start flow NAME          begin one of the processes listed below
set slot NAME VALUE      record a value the caller gave (also to change an earlier value)
cancel flow              the caller wants to stop the process that is running
disambiguate flows A B   the request fits several processes: name them
provide info             the caller asks about the business, not for a process
offtopic reply           small talk that fits no process
hand over                the caller asks for a person or is clearly upset
repeat message           the caller did not catch what was just said
skip question            the caller wants to skip the question being asked
cannot handle            none of the above fits

Processes the caller may start:
{% for flow in available_flows -%}
- {{ flow.name }}: {{ flow.description }}
{% for slot in flow.slots -%}
{{ "    " }}slot {{ slot.name }}{% if slot.description %}: {{ slot.description }}{% endif %}\
{% if slot.allowed_values %} (one of {{ slot.allowed_values }}){% endif %}
{% endfor -%}
{% endfor %}
{% if current_flow -%}
Running now: {{ current_flow }}.
{% if current_slot -%}
The assistant has just asked for {{ current_slot }}\
{% if current_slot_description %} ({{ current_slot_description }}){% endif %}\
{% if current_slot_allowed_values %}, one of {{ current_slot_allowed_values }}{% endif %}.
{% endif -%}
{% if flow_slots -%}
Values so far:
{% for slot in flow_slots -%}
- {{ slot.name }} = {{ slot.value }} ({{ slot.type }})
{% endfor -%}
{% endif -%}
{% else -%}
No process is running.
{% endif %}
Use only the names above and only values the caller said; never make one up. An answer to \
the question sets its slot (yes and no answer yes/no questions as True and False). A caller \
may answer and ask for something else at once: write both.

The call so far:
{{ current_conversation }}

Commands for the caller's last words, "{{ user_message }}":
"""


def _json_escaped(value: Any) -> str:
    """Rasa's ``to_json_escaped_string`` filter: the value as a JSON string body."""
    return json.dumps(str(value))[1:-1]


class PromptBuilder:
    """Compiles a template once and renders it per message."""

    def __init__(self, template: str | None = None) -> None:
        strict = template is None  # ours must not silently lose a variable
        env = SandboxedEnvironment(
            autoescape=False,
            undefined=StrictUndefined if strict else Undefined,
            keep_trailing_newline=True,
        )
        env.filters["to_json_escaped_string"] = _json_escaped
        self.custom = template is not None
        self.template: Template = env.from_string(template or DEFAULT_TEMPLATE)

    def render(self, context: PromptContext) -> str:
        """The prompt for one message (a broken template raises whatever it raises)."""
        return self.template.render(**context.inputs)
