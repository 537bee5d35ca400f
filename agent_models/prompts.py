"""ysim's prompt set, Y Social's `prompts.json` read over it, and the safe template renderer.

Prompts are keyed by Y Social's names (`agent_roleplay`, `handler_post`, ...), so a Y Social
user's `prompts.json` replaces ysim's texts key by key. Templates use the placeholder forms Y
Social's f-strings use, and only those:

- `{self.<field>}`: a field of the agent;
- `{name}`: a named slot (`interest`, `conv`, `post_text`, `article`, `website`, `actions`, ...);
- `{name.key}` or `{name['key']}`: a key of a mapping slot (`{article.title}`, `{website.name}`);
- `{','.join(name)}`: a list slot joined with a literal separator;
- `{{` and `}}`: literal braces.

Rendering substitutes those and evaluates nothing (Y Social runs `eval` on its templates); any
other text in braces is an error that names it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from agent_models.agent_data import AgentData

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SEPARATOR = r"""(?:'[^'{}]*'|"[^"{}]*")"""
_PLACEHOLDER = re.compile(
    r"\{\{|\}\}"  # literal braces
    rf"|\{{(?:(?P<field>self\.{_NAME})"
    rf"|(?P<sep>{_SEPARATOR})\.join\((?P<joined>{_NAME})\)"
    rf"|(?P<slot>{_NAME})(?:\.(?P<attr>{_NAME})|\[(?P<key>{_SEPARATOR})\])?"
    r")\}"
    r"|\{[^{}]*\}?|\}")  # anything else in braces, or a stray brace: refused


class PromptError(ValueError):
    """A template uses a placeholder that neither the agent nor the slots provide, or an expression."""


def render_prompt(template: str, agent: AgentData, **slots: object) -> str:
    """`template` with its placeholders filled from `agent` and `slots` (see the module docstring)."""
    return _PLACEHOLDER.sub(lambda match: _substitute(match, agent, slots), template)


def _substitute(match: re.Match[str], agent: AgentData, slots: Mapping[str, object]) -> str:
    text = match.group(0)
    if text in ("{{", "}}"):
        return text[0]
    if match.group("field"):
        name = match.group("field").removeprefix("self.")
        if name not in {f.name for f in dataclasses.fields(agent)}:
            raise PromptError(f"placeholder {{self.{name}}}: {agent.agent_class} has no field {name!r}")
        return _as_text(getattr(agent, name))
    if match.group("joined"):
        return match.group("sep")[1:-1].join(map(str, _as_list(_slot(slots, match.group("joined"), text))))
    if match.group("slot"):
        value = _slot(slots, match.group("slot"), text)
        key = match.group("attr") or (match.group("key") or "")[1:-1]
        if not key:
            return _as_text(value)
        if not isinstance(value, Mapping) or key not in value:
            raise PromptError(f"placeholder {_shown(text)}: slot {match.group('slot')!r} has no key {key!r}")
        return _as_text(value[key])
    raise PromptError(f"placeholder {text!r}: only {{self.field}}, {{slot}}, {{slot.key}}, {{slot['key']}} "
                      f"and {{'sep'.join(slot)}} are allowed (write {{{{ and }}}} for literal braces)")


def _slot(slots: Mapping[str, object], name: str, text: str) -> object:
    if name not in slots:
        raise PromptError(f"placeholder {_shown(text)}: no such slot; given: {', '.join(sorted(slots)) or 'none'}")
    return slots[name]


def _shown(text: object) -> str:
    """Text as an error message shows it: as written when printable, else its repr (messages are one line)."""
    return text if isinstance(text, str) and text and text.isprintable() else repr(text)


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _as_text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return "" if value is None else str(value)


# ysim's own prompts, under Y Social's keys. Persona prompts are system messages; handler
# prompts are the user message of one call.
PROMPTS: Mapping[str, str] = {
    "agent_roleplay": (
        "You are {self.name}, a {self.age}-year-old {self.nationality} {self.gender} working as "
        "{self.profession}, posting on a microblogging platform. Politically you are {self.leaning}. "
        "Right now you care about {', '.join(interest)}. Your education: {self.education_level}. "
        "You are {self.oe}, {self.co}, {self.ex}, {self.ag} and {self.ne}.{opinions} "
        "You write in {self.language}, informally, and never describe your own profile."),
    "agent_roleplay_simple": (
        "You are {self.name}, a {self.age}-year-old {self.nationality} {self.gender} on a "
        "microblogging platform. Politically you are {self.leaning}. You are {self.oe}, {self.co}, "
        "{self.ex}, {self.ag} and {self.ne}. Answer as this person would."),
    "agent_roleplay_comments_share": (
        "You are {self.name}, a {self.age}-year-old {self.nationality} {self.gender} on a "
        "microblogging platform. Politically you are {self.leaning}; you care about "
        "{', '.join(interest)}. You are {self.oe}, {self.co}, {self.ex}, {self.ag} and {self.ne}.{opinions} "
        "Always write a reply; never describe your own profile."),
    "handler_action": (
        "{memories}What do you do next on the platform? Options: {actions}. Answer with exactly one option."),
    "handler_post": (
        "{memories}Write one short post (under 280 characters) about one of these topics: {', '.join(interest)}. "
        "Use {self.toxicity} confrontational language and an informal tone, in {self.language}. "
        "Hashtags are welcome. Write only the post."),
    "handler_comment": (
        "{memories}Add a short reply (under 280 characters) to this conversation. Each line starts with its "
        "author's @username; mention the user you answer with @username. Use {self.toxicity} "
        "confrontational language, in {self.language}. Write only the reply.\n"
        "##CONVERSATION START##\n{conv}##CONVERSATION END##"),
    "handler_reactions": (
        "{memories}Do you like this post? Answer LIKE, DISLIKE or NEUTRAL.\n##TEXT START## {post_text} ##TEXT END##"),
    "handler_follow": (
        "{memories}Do you want to {action} the author of this post? Answer YES or NO.\n"
        "##TEXT START## {post_text} ##TEXT END##"),
    "handler_cast": (
        "{memories}An electoral survey asks you about this post. Which way would you vote after reading it? "
        "Answer LEFT, RIGHT or NONE; do not discuss the post.\n##POST START## {post_text} ##POST END##"),
    "handler_share": (
        "{memories}Share this article with a short post of your own (under 280 characters). Use {self.toxicity} "
        "confrontational language, in {self.language}. Write only the post.\n"
        "##ARTICLE START## Title: {article.title}\nSummary: {article.summary} ##ARTICLE END##\n"
        "##POST START## {post_text} ##POST END##"),
    "page_roleplay": "You are the social media page of {self.name}, a news outlet. You write short, factual posts.",
    "handler_news": (
        "Write a short post (under 280 characters) presenting this article from {website.name} "
        "({website.leaning}). Write only the post.\n"
        "##ARTICLE START## Title: {article.title}\nSummary: {article.summary} ##ARTICLE END##"),
    "handler_instructions_topics": (
        "Name the 3 general topics of the text, two words each, formatted exactly as: "
        "#T: First Topic; #T: Second Topic; #T: Third Topic."),
    "handler_instructions": (
        "Annotate texts with the emotions they elicit, using only these labels: {', '.join(emotions)}. "
        "Answer with a JSON list of labels and nothing else."),
    "handler_emotions": "Annotate this text with the emotions it elicits:\n\n{text}",
    "handler_interview": (
        "{memories}{recent}An interviewer asks you: {question}\n"
        "Answer as yourself, in character, in a few sentences. Write only your answer."),
    "handler_opinion": (
        "{memories}You read this text on the topic '{topic}': '{post_text}'. Its author's opinion on the topic is "
        "'{author_opinion}'; yours is '{own_opinion}'.{followees} Does the text make you AGREE with the "
        "author, DISAGREE with the author, or stay NEUTRAL? Answer with one word: AGREE, DISAGREE or NEUTRAL."),
}

# The slots each prompt is rendered with (besides `self`); a loaded template may use no others.
PROMPT_SLOTS: Mapping[str, frozenset[str]] = {
    "agent_roleplay": frozenset({"interest", "opinions"}),
    "agent_roleplay_simple": frozenset(),
    "agent_roleplay_comments_share": frozenset({"interest", "opinions"}),
    "handler_action": frozenset({"memories", "actions"}),
    "handler_post": frozenset({"memories", "interest"}),
    "handler_comment": frozenset({"memories", "conv", "interest"}),
    "handler_reactions": frozenset({"memories", "post_text"}),
    "handler_follow": frozenset({"memories", "post_text", "action"}),
    "handler_cast": frozenset({"memories", "post_text"}),
    "handler_share": frozenset({"memories", "post_text", "article"}),
    "page_roleplay": frozenset(),
    "handler_news": frozenset({"article", "website"}),
    "handler_instructions_topics": frozenset(),
    "handler_instructions": frozenset({"emotions"}),
    "handler_emotions": frozenset({"text"}),
    "handler_interview": frozenset({"memories", "recent", "question"}),
    "handler_opinion": frozenset({"memories", "topic", "post_text", "author_opinion", "own_opinion", "followees"}),
}
# The prompts that shape a decision or a text: with memory on they carry what the agent recalls, in
# their `{memories}` slot (empty with memory off, so the prompt is what it was), or appended where a
# loaded template has no such slot (agent_models.memory, tasks.agent_steps).
MEMORY_PROMPTS = frozenset({"handler_action", "handler_post", "handler_comment", "handler_reactions",
                            "handler_follow", "handler_cast", "handler_share", "handler_opinion",
                            "handler_interview"})
# Y Social keys ysim reads but has no use for (no vision model; its base and handler personas
# are folded into the prompts above).
UNUSED_YSOCIAL_PROMPTS = frozenset({"agent_roleplay_base", "handler_instructions_simple", "handler_comment_image",
                                    "handler_share_page"})


def prompt_set(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """ysim's prompts with `overrides` (a Y Social `prompts.json`, or some keys of it) in place.

    Every override is checked now: an unknown key, or a placeholder its prompt does not provide,
    is a `PromptError` naming the key, so a bad file stops a run before its first tick.
    """
    prompts = dict(PROMPTS)
    for key, template in (overrides or {}).items():
        if key in UNUSED_YSOCIAL_PROMPTS:
            continue
        if key not in PROMPTS:
            raise PromptError(f"prompts.{_shown(key)}: not a prompt ysim uses; known: {', '.join(sorted(PROMPTS))}")
        if not isinstance(template, str):
            raise PromptError(f"prompts.{key}: expected a template string, got {type(template).__name__}")
        check_template(key, template)
        prompts[key] = template
    return prompts


def check_template(key: str, template: str) -> None:
    """Render `template` against a blank agent and the slots of `key`, raising on any bad placeholder."""
    probe = {"title": "", "summary": "", "name": "", "leaning": ""}
    slots = {name: probe for name in PROMPT_SLOTS[key]}
    try:
        render_prompt(template, AgentData(name="probe", email="probe@example.org"), **slots)
    except PromptError as error:
        raise PromptError(f"prompts.{key}: {error}") from None


# JSON schemas for decisions, sent as `response_format` when the server supports it.
def choice_schema(name: str, key: str, options: list[str]) -> dict:
    return {"type": "json_schema", "json_schema": {
        "name": name, "strict": True,
        "schema": {"type": "object", "properties": {key: {"type": "string", "enum": options}},
                   "required": [key], "additionalProperties": False}}}


def list_schema(name: str, key: str, options: list[str]) -> dict:
    """A JSON-schema answer holding a list drawn from `options` (emotion labels)."""
    return {"type": "json_schema", "json_schema": {
        "name": name, "strict": True,
        "schema": {"type": "object",
                   "properties": {key: {"type": "array", "items": {"type": "string", "enum": options}}},
                   "required": [key], "additionalProperties": False}}}
