"""Agent memory: what an agent did and met, kept with a strength that decays, grows when recalled,
and is forgotten below a threshold; and the recall that picks memories for a prompt.

The model follows Y Social's (YClient and YServer's memory subsystem, 2026; docs/memory.md
compares the two field by field) where it is sound:

- Y Social's settings, under its names without the `memory_` prefix: `enabled`, `pair_limit` (the
  most memories about one other agent in a prompt), `prompt_max_chars` (the prompt's memory
  budget, clamped to Y Social's 200..3200), the decay rates per kind (`social_decay_lambda` for
  memories of another agent, `thread_decay_lambda` for posts and threads), the corruption rates
  (each word of a recalled memory of six words or more dropped with that probability), and
  `search_k` (the most memories recalled at once);
- Y Social's importance of an event (a comment 0.45, a post 0.35, a like 0.20, a dislike 0.35)
  is the memory's starting strength;
- Y Social's score of a memory for a prompt: 0.55 relevance (word overlap with what the prompt is
  about, |q & m| / sqrt(|q| |m|), Y Social's fallback without embeddings; with `embedding_url`,
  the cosine similarity of their embeddings, as Y Social's semantic search: tasks.embeddings) +
  0.25 recency (halving every `recency_half_life` ticks) + 0.20 strength.

And where Y Social has none, ysim's own, as the issue asks: strength decays as
`s * exp(-lambda * ticks)` for both kinds (Y Social reads `memory_thread_decay_lambda` but never
applies it), a recall adds `reinforcement` (capped at 1), and a memory whose strength falls below
`forget_below` is forgotten: never recalled again, and deleted (db.memory_store) so that what an
agent keeps stays bounded.

Everything here is pure: a memory's strength at a tick is a function of when it was formed, its
importance and the ticks it was recalled at, so a replay recomputes the same strengths.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# Kinds of memory: a social one is about another agent, a thread one about content.
SOCIAL_KINDS = frozenset({"replied_to_me", "mentioned_me", "reaction_to_mine", "followed_me", "unfollowed_me"})
THREAD_KINDS = frozenset({"posted", "commented", "reacted", "opinion_changed", "intervention"})
KINDS = SOCIAL_KINDS | THREAD_KINDS
# Starting strength: Y Social's `_estimate_importance` of the event (comment 0.45, post 0.35,
# upvote 0.20, downvote 0.35); ysim's own for the events Y Social does not store.
IMPORTANCE = {"posted": 0.35, "commented": 0.45, "replied_to_me": 0.45, "mentioned_me": 0.45,
              "followed_me": 0.30, "unfollowed_me": 0.35, "opinion_changed": 0.40, "intervention": 0.50}
REACTION_IMPORTANCE = {"like": 0.20, "dislike": 0.35}
TEXT_MAX_CHARS = 240  # what a memory keeps of a post's text
# Y Social's search weights (YServer `/memory/search`).
RELEVANCE_WEIGHT, RECENCY_WEIGHT, STRENGTH_WEIGHT = 0.55, 0.25, 0.20
_WORD = re.compile(r"[\w#@']+")


class MemorySettings(BaseModel):
    """The `memory:` section of a run configuration (off by default); `classes` overrides any field
    for the agents of one class, e.g. `classes: {PageAgentData: {enabled: false}}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="Agents form and recall memories (Y Social's `memory_enabled`).")
    pair_limit: int = Field(5, ge=1, le=20, description="The most memories about one other agent in a prompt "
                                                         "(Y Social's `memory_pair_limit`).")
    prompt_max_chars: int = Field(1600, ge=200, le=3200, description="Characters of memories a prompt holds at "
                                                                      "most (Y Social's `memory_prompt_max_chars`).")
    search_k: int = Field(8, ge=1, le=40, description="The most memories recalled into one prompt "
                                                      "(Y Social's `memory_search_k`).")
    social_decay_lambda: float = Field(0.05, ge=0, description="Decay per tick of memories about another agent "
                                                               "(Y Social's `memory_social_decay_lambda`).")
    thread_decay_lambda: float = Field(0.03, ge=0, description="Decay per tick of memories of posts and threads "
                                                               "(Y Social's `memory_thread_decay_lambda`).")
    social_corruption_rate: float = Field(0.02, ge=0, le=1, description="Chance that each word of a recalled "
                                          "social memory of 6+ words is lost (Y Social's "
                                          "`memory_social_corruption_rate`).")
    thread_corruption_rate: float = Field(0.01, ge=0, le=1, description="The same for memories of posts and "
                                          "threads (`memory_thread_corruption_rate`).")
    reinforcement: float = Field(0.2, ge=0, le=1, description="Strength a recall adds (at most 1 in all).")
    forget_below: float = Field(0.05, gt=0, lt=1, description="A memory weaker than this is forgotten.")
    recency_half_life: float = Field(96, gt=0, description="Ticks in which a memory's recency score halves "
                                                           "(Y Social's MEMORY_RECENCY_HALF_LIFE_ROUNDS).")
    embedding_url: str | None = Field(None, description="An OpenAI-compatible server (e.g. Ollama's "
                                      "http://127.0.0.1:11434/v1) whose embeddings score a memory's relevance, by "
                                      "cosine similarity to what the prompt is about, in place of word overlap (Y "
                                      "Social's semantic search); none: word overlap.")
    embedding_model: str = Field("", description="The embedding model asked (Y Social's `memory_embedding_model`); "
                                                 "needed with `embedding_url`.")
    classes: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per agent class "
                                               "(AgentData, PageAgentData, ...), fields that differ.")

    @field_validator("classes")
    @classmethod
    def _classes(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, fields in value.items():
            if "classes" in fields:
                raise ValueError(f"{name}: a class's settings cannot hold `classes`")
            try:
                cls.model_validate(fields)  # each override is checked here, with the field's own message
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(map(str, error["loc"]))
                raise ValueError(f"{name}.{where}: {error['input']!r:.60}: {error['msg']}") from None
        return value

    @model_validator(mode="after")
    def _embedding(self) -> "MemorySettings":
        if self.embedding_url and not self.embedding_model:
            raise ValueError("embedding_model: '': name the embedding model `embedding_url` serves")
        return self

    @property
    def in_use(self) -> bool:
        """Whether any agent class has memory on."""
        return self.enabled or any(fields.get("enabled") for fields in self.classes.values())

    def for_class(self, agent_class: str) -> "MemorySettings":
        """The settings for agents of `agent_class`."""
        fields = self.classes.get(agent_class)
        return self if not fields else self.model_copy(update={**fields, "classes": {}})

    def decay(self, kind: str) -> float:
        return self.social_decay_lambda if kind in SOCIAL_KINDS else self.thread_decay_lambda

    def corruption(self, kind: str) -> float:
        return self.social_corruption_rate if kind in SOCIAL_KINDS else self.thread_corruption_rate


@dataclass(frozen=True, slots=True)
class Memory:
    """One memory of one agent, with the ticks it was recalled at (ascending)."""

    memory_id: int
    agent_id: int
    tick: int  # formed at
    kind: str
    text: str
    importance: float
    topics: tuple[str, ...] = ()
    other_agent_id: int | None = None  # the agent a social memory is about
    recalled: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class NewMemory:
    """A memory formed at a tick, before it has an id (what the writer stores)."""

    agent_id: int
    kind: str
    text: str
    importance: float
    topics: tuple[str, ...] = ()
    other_agent_id: int | None = None
    post_id: int | None = None


def strength(memory: Memory, tick: int, settings: MemorySettings) -> float:
    """The memory's strength at `tick` (0 once forgotten): its importance decayed since it was
    formed, each recall before `tick` adding `reinforcement` to what was left then."""
    rate, value, last = settings.decay(memory.kind), memory.importance, memory.tick
    for recalled in memory.recalled:
        if recalled >= tick:
            break
        value *= math.exp(-rate * (recalled - last))
        if value < settings.forget_below:
            return 0.0
        value, last = min(1.0, value + settings.reinforcement), recalled
    value *= math.exp(-rate * (tick - last))
    return value if value >= settings.forget_below else 0.0


def forgotten(memory: Memory, tick: int, settings: MemorySettings) -> bool:
    return strength(memory, tick, settings) == 0.0


@dataclass(frozen=True, slots=True)
class Recall:
    """What a prompt recalls: the memories picked (ids, best first) and their lines."""

    memory_ids: tuple[int, ...] = ()
    lines: tuple[str, ...] = ()

    def block(self) -> str:
        """The text a prompt's `{memories}` slot takes ("" when nothing is recalled)."""
        if not self.lines:
            return ""
        return "Things you remember (most relevant first):\n" + "\n".join(f"- {line}" for line in self.lines)


def recall(memories: Iterable[Memory], tick: int, about: str, settings: MemorySettings,
           rng: random.Random, relevance: Mapping[int, float] | None = None) -> Recall:
    """The memories a prompt about `about` (its topic, the post answered...) recalls at `tick`:
    live ones by score (relevance, recency, strength), at most `search_k`, at most `pair_limit`
    about one other agent, within `prompt_max_chars`; each line aged and corrupted as the settings say.

    `relevance`: each memory's relevance by id (the embeddings' cosine similarity, tasks.embeddings),
    in place of the word overlap with `about`; a memory it lacks scores 0."""
    query = _words(about)
    scored = []
    for memory in memories:
        value = strength(memory, tick, settings)
        if value == 0.0 or memory.tick >= tick:
            continue
        recency = math.exp(-math.log(2) / settings.recency_half_life * (tick - memory.tick))
        related = _overlap(query, memory) if relevance is None else relevance.get(memory.memory_id, 0.0)
        score = RELEVANCE_WEIGHT * related + RECENCY_WEIGHT * recency + STRENGTH_WEIGHT * value
        scored.append((-score, memory.memory_id, memory))
    picked: list[Memory] = []
    per_other: Counter[int] = Counter()
    used = 0
    for _, _, memory in sorted(scored):
        if len(picked) == settings.search_k:
            break
        if memory.other_agent_id is not None and per_other[memory.other_agent_id] >= settings.pair_limit:
            continue
        line = f"({_age(tick - memory.tick)}) {memory.text}"
        if used + len(line) + 3 > settings.prompt_max_chars:  # "- " and the line break
            continue
        picked.append(memory)
        used += len(line) + 3
        if memory.other_agent_id is not None:
            per_other[memory.other_agent_id] += 1
    lines = tuple(f"({_age(tick - m.tick)}) {_corrupted(m.text, settings.corruption(m.kind), rng)}" for m in picked)
    return Recall(tuple(m.memory_id for m in picked), lines)


def _words(text: str) -> set[str]:
    return {w.lower().strip("#@'") for w in _WORD.findall(text)} - {""}


def _overlap(query: set[str], memory: Memory) -> float:
    own = _words(memory.text) | {t.lower() for t in memory.topics}
    if not query or not own:
        return 0.0
    return len(query & own) / math.sqrt(len(query) * len(own))


def _age(ticks: int) -> str:
    if ticks < 24:
        return f"{ticks} hour{'s' if ticks != 1 else ''} ago"
    days = ticks // 24
    return f"{days} day{'s' if days != 1 else ''} ago"


def _corrupted(text: str, rate: float, rng: random.Random) -> str:
    """Y Social's corruption: each word lost with probability `rate`, in texts of six words or more."""
    words = text.split()
    if rate <= 0 or len(words) < 6:
        return text
    kept = [w for w in words if rng.random() >= rate]
    return " ".join(kept) if kept else words[0]


def clip(text: str) -> str:
    """A post's text as a memory keeps it: one line, at most TEXT_MAX_CHARS."""
    flat = " ".join(text.split())
    return flat if len(flat) <= TEXT_MAX_CHARS else flat[:TEXT_MAX_CHARS - 3].rstrip() + "..."


def topics_of(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


# --- what events become memories (the writer calls these with the rows it wrote) ------------------
def on_post(author_id: int, post_id: int, text: str, topics: Sequence[str]) -> list[NewMemory]:
    return [NewMemory(author_id, "posted", f"You posted: {clip(text)}", IMPORTANCE["posted"], topics_of(topics),
                      post_id=post_id)]


def on_comment(author: tuple[int, str], parent_author: tuple[int, str], comment_id: int, text: str,
               topics: Sequence[str]) -> list[NewMemory]:
    """A reply: the replier remembers what it said; the author of the post answered, who answered."""
    (author_id, author_name), (parent_id, parent_name) = author, parent_author
    formed = [NewMemory(author_id, "commented", f"You replied to @{parent_name}: {clip(text)}",
                        IMPORTANCE["commented"], topics_of(topics), parent_id, comment_id)]
    if parent_id != author_id:
        formed.append(NewMemory(parent_id, "replied_to_me", f"@{author_name} replied to your post: {clip(text)}",
                                IMPORTANCE["replied_to_me"], topics_of(topics), author_id, comment_id))
    return formed


def on_reaction(reactor: tuple[int, str], author: tuple[int, str], post_id: int, kind: str, post_text: str,
                topics: Sequence[str]) -> list[NewMemory]:
    """A like or dislike: the reader remembers the post and its reaction; the author, who reacted."""
    (reactor_id, reactor_name), (author_id, author_name) = reactor, author
    verb = "liked" if kind == "like" else "disliked"
    importance = REACTION_IMPORTANCE.get(kind, REACTION_IMPORTANCE["like"])
    formed = [NewMemory(reactor_id, "reacted", f"You read @{author_name}'s post and {verb} it: {clip(post_text)}",
                        importance, topics_of(topics), author_id, post_id)]
    if author_id != reactor_id:
        formed.append(NewMemory(author_id, "reaction_to_mine", f"@{reactor_name} {verb} your post: {clip(post_text)}",
                                importance, topics_of(topics), reactor_id, post_id))
    return formed


def on_mention(mentioned_id: int, author: tuple[int, str], post_id: int, text: str,
               topics: Sequence[str]) -> list[NewMemory]:
    author_id, author_name = author
    return [NewMemory(mentioned_id, "mentioned_me", f"@{author_name} mentioned you: {clip(text)}",
                      IMPORTANCE["mentioned_me"], topics_of(topics), author_id, post_id)]


def on_follow(follower: tuple[int, str], followee_id: int, action: str) -> list[NewMemory]:
    """A follow gained or lost, remembered by the agent followed."""
    follower_id, follower_name = follower
    kind, verb = ("followed_me", "started") if action == "follow" else ("unfollowed_me", "stopped")
    return [NewMemory(followee_id, kind, f"@{follower_name} {verb} following you", IMPORTANCE[kind],
                      other_agent_id=follower_id)]


def on_opinion(agent_id: int, topic: str, before: float | None, after: float, source: tuple[int, str] | None,
               post_id: int | None) -> list[NewMemory]:
    """An opinion that moved (a first opinion, or a change of at least 0.01)."""
    if before is not None and abs(after - before) < 0.01:
        return []
    moved = f"from {before:.2f} to {after:.2f}" if before is not None else f"to {after:.2f}"
    because = f" after reading @{source[1]}" if source is not None else ""
    return [NewMemory(agent_id, "opinion_changed", f"Your opinion on {topic} moved {moved}{because}",
                      IMPORTANCE["opinion_changed"], (topic,), source[0] if source is not None else None, post_id)]


def on_intervention(agent_id: int, what: str) -> list[NewMemory]:
    """An intervention the agent was exposed to (in its group), in the words of its note or summary."""
    return [NewMemory(agent_id, "intervention", clip(what), IMPORTANCE["intervention"])]
