"""ysim's prompt set and the safe template renderer.

Templates use Y Social's placeholder syntax: `{self.<agent field>}` for persona fields and
`{name}` for named slots (`interests`, `topic`, `actions`, `thread`, `post_text`). Rendering
substitutes those and nothing else: no `eval`, and an unknown placeholder is an error that
names it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from agent_models.agent_data import AgentData

_PLACEHOLDER = re.compile(r"\{(self\.)?([A-Za-z_][A-Za-z0-9_]*)\}")


class PromptError(ValueError):
    """A template names a placeholder that neither the agent nor the slots provide."""


def render_prompt(template: str, agent: AgentData, **slots: object) -> str:
    def substitute(match: re.Match[str]) -> str:
        is_field, name = match.group(1), match.group(2)
        if is_field:
            if name not in {f.name for f in dataclasses.fields(agent)}:
                raise PromptError(f"placeholder {{self.{name}}}: {agent.agent_class} has no field {name!r}")
            return _as_text(getattr(agent, name))
        if name not in slots:
            raise PromptError(f"placeholder {{{name}}}: no such slot; given: {', '.join(sorted(slots)) or 'none'}")
        return _as_text(slots[name])

    return _PLACEHOLDER.sub(substitute, template)


def _as_text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


PROMPTS: Mapping[str, str] = {
    "roleplay": (
        "You are {self.name}, a {self.age}-year-old {self.nationality} {self.gender} working as "
        "{self.profession}, on a microblogging platform. You identify as {self.leaning} and you "
        "are interested in {interests}. You are {self.oe}, {self.co}, {self.ex}, {self.ag} and "
        "{self.ne}. You write in {self.language}, in an informal tone, and never describe your "
        "profile."),
    "choose_action": (
        "Choose what you do next on the platform. Options: {actions}. "
        "Answer with exactly one of the options."),
    "post": (
        "Write a short post (under 280 characters) about {topic}. Use {self.toxicity} "
        "confrontational language. Write only the post."),
    "comment": (
        "Read this conversation and add a short reply (under 280 characters). Mention the user "
        "you answer with @username. Write only the reply.\n"
        "##CONVERSATION START##\n{thread}##CONVERSATION END##"),
    "react": (
        "Read this post and say whether you like it: answer LIKE, DISLIKE or NEUTRAL.\n"
        "##TEXT START## {post_text} ##TEXT END##"),
}

# JSON schemas for decisions, sent as `response_format` when the server supports it.
def choice_schema(name: str, key: str, options: list[str]) -> dict:
    return {"type": "json_schema", "json_schema": {
        "name": name, "strict": True,
        "schema": {"type": "object", "properties": {key: {"type": "string", "enum": options}},
                   "required": [key], "additionalProperties": False}}}
