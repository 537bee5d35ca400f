"""The LLM functions for one agent: Y Social's `agent_llm_functions`, returning intents.

`AgentSteps` holds one agent's state for one call (its reads, seeded generator, LLM client and
what it produced) and offers the ten LLM functions as methods: each builds its prompts (ysim's
set, a loaded `prompts.json`, or the agent's custom prompt), asks the LLM, parses the answer
Y Social's way and appends intents and call records. A rule-based agent takes the same steps
with template text and seeded chance instead of the LLM. `AgentRunner` (tasks.agent_actions)
strings the steps into Y Social's actions.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Mapping

from agent_models import (
    ActionRecord, AgentData, BatchResult, CommentIntent, FollowIntent, PostIntent, ReactionIntent, llm_seed, rng_for,
)
from agent_models.activity import offered_actions
from agent_models.agent_llm import agent_llm_overrides
from agent_models.intents import ArticleRef, InterestIntent, OpinionIntent, RecallIntent, VoteIntent
from agent_models.memory import clip, recall
from agent_models.opinion_dynamics import bounded_confidence, evaluated_opinion, opinion_model_for
from agent_models.parsing import (
    clean_comment, clean_emotion, clean_share, clean_text, parse_choice, parse_reaction, parse_topics, parse_verdict,
    parse_vote, parse_yes_no, post_hashtags, post_mentions,
)
from agent_models.prompts import MEMORY_PROMPTS, choice_schema, list_schema, prompt_set, render_prompt
from tasks.context import AgentReads, PostView, TickContext
from tasks.embeddings import Embedder
from tasks.llm_pool import LLMPool
from tasks.llm_client import CallSite, LLMClient
from tasks.round_steps import current_step

REACTION_OPTIONS = ["LIKE", "DISLIKE", "NEUTRAL"]
VOTE_OPTIONS = ["LEFT", "RIGHT", "NONE"]
VERDICT_OPTIONS = ["AGREE", "DISAGREE", "NEUTRAL"]
ACT_AS_REQUESTED = " - Act as requested."  # appended to a custom prompt, as Y Social does


class AgentSteps:
    """One agent's LLM functions for one call or tick; outcomes accumulate in `self.result`."""

    def __init__(self, ctx: TickContext, agent: AgentData, reads: AgentReads, llm: LLMClient | None,
                 stream: str = "act", prompts: Mapping[str, str] | None = None,
                 embedders: LLMPool | None = None) -> None:
        self.ctx, self.agent, self.reads, self.llm = ctx, agent, reads, llm
        self.rng: random.Random = rng_for(ctx.seed, ctx.tick, agent.agent_id, stream)
        self.prompts = prompts if prompts is not None else prompt_set(ctx.config.prompts)
        if agent.prompts:  # the agent's own prompt table (the seed's `prompts`) overrides the run's
            self.prompts = {**self.prompts, **agent.prompts}
        # The model its `llm_config` names, else its `type`; "" is the client's (the run's) model.
        overrides = agent_llm_overrides(agent) if agent.uses_llm else None
        self.model = overrides.model if overrides is not None and overrides.model else agent.type
        self.opinion_model = opinion_model_for(agent.opinions, agent.opinion_dynamics)
        self.memory = ctx.config.memory.for_class(agent.agent_class)
        # Recall by embeddings where the memory settings name a server (from the batch's pool).
        self.embedder: Embedder | None = embedders.embedder_for(self.memory) if embedders is not None else None
        # A private copy: the batch shares `reads.opinions`, and what others read must stay as it
        # was before the tick whatever the batching.
        self.own_opinions = dict(reads.opinions.get(agent.agent_id) or {})
        self._result = BatchResult()

    @property
    def result(self) -> BatchResult:
        """Where outcomes are recorded: the running step's own buffer when the agent's steps
        overlap (tasks.round_steps), else the agent's result."""
        step = current_step(self)
        return step.result if step is not None else self._result

    # --- the ten LLM functions ----------------------------------------------------------------
    async def select_action_llm(self, index: int, candidates: list[str]) -> str | None:
        """One of `candidates` (shuffled first and listed as `simulation.offered_actions` says: Y Social
        lists a candidate drawn twice twice), or None when unparseable."""
        self.rng.shuffle(candidates)
        if not self.agent.uses_llm:
            return self.rng.choice(candidates)
        listed = offered_actions(candidates, self.ctx.config.simulation.offered_actions)
        options = list(dict.fromkeys(listed))  # a JSON schema's enum holds each value once
        memories = await self._recalled(index, " ".join(self.agent.interests))
        answer = await self._ask(index, "select_action_llm", self._persona("agent_roleplay_simple"),
                                 self._render("handler_action", recalled=memories, actions=", ".join(listed)),
                                 choice_schema("action_choice", "action", options))
        return self._parsed(parse_choice(answer, options, "action"), answer)

    async def post_content(self, index: int, topics: tuple[str, ...]) -> PostIntent | None:
        """A post about `topics`, or None when no usable text came back."""
        if not self.agent.uses_llm:
            text = f"Thinking about {' and '.join(topics) or 'my day'} today. #{_tag(topics[0] if topics else 'today')}"
        else:
            memories = await self._recalled(index, " ".join(topics))
            raw = await self._ask(index, "post_content", self._persona("agent_roleplay", interest=list(topics)),
                                  self._render("handler_post", recalled=memories, interest=list(topics)))
            text = clean_text(raw, self.agent.name) if raw is not None else None
        if text is None:
            return None
        return PostIntent(self.agent.agent_id, index, text, topics, post_hashtags(text),
                          post_mentions(text, self.agent.name), await self.emotion_annotation(index, text))

    async def comment_on_post(self, index: int, post: PostView, answers_mention: int | None = None) -> CommentIntent | None:
        """A comment on `post`, reading its thread, or None when no usable text came back."""
        if not self.agent.uses_llm:
            text = f"@{post.author} I have thoughts on this."
        else:
            thread = "".join(f"@{author} - {text}\n" for author, text in self.reads.threads.get(post.post_id, []))
            memories = await self._recalled(index, f"@{post.author} {post.text}")
            raw = await self._ask(index, "comment_on_post",
                                  self._persona("agent_roleplay_comments_share",
                                                interest=list(post.topics or self.agent.interests)),
                                  self._render("handler_comment", recalled=memories,
                                               conv=thread or f"@{post.author} - {post.text}\n",
                                               interest=list(post.topics)))
            text = clean_comment(raw, self.agent.name) if raw is not None else None
        if text is None:
            return None
        return CommentIntent(self.agent.agent_id, index, post.post_id, text, post_hashtags(text),
                             post_mentions(text, self.agent.name), await self.emotion_annotation(index, text),
                             answers_mention)

    async def share_post(self, index: int, post: PostView) -> PostIntent | None:
        """A post sharing `post` and its article, or None when no usable text came back."""
        assert post.article is not None, "only posts that carry an article can be shared"
        if not self.agent.uses_llm:
            text = f"Worth a read: {post.article.title}"
        else:
            memories = await self._recalled(index, post.text)
            raw = await self._ask(index, "share_post",
                                  self._persona("agent_roleplay_comments_share", interest=list(self.agent.interests)),
                                  self._render("handler_share", recalled=memories, post_text=post.text,
                                               article=_mapping(post.article)))
            text = clean_share(raw, self.agent.name) if raw is not None else None
        if text is None:
            return None
        return PostIntent(self.agent.agent_id, index, text, (), post_hashtags(text), post_mentions(text, self.agent.name),
                          await self.emotion_annotation(index, text), shared_from=post.post_id)

    async def reaction_to_post(self, index: int, post: PostView) -> str | None:
        """like / dislike / neutral, or None when unparseable; a like or dislike becomes an intent."""
        if not self.agent.uses_llm:
            reaction = self.rng.choice(["like", "dislike"])  # Y Social's fake agents: random YES / NO
        else:
            memories = await self._recalled(index, f"@{post.author} {post.text}")
            answer = await self._ask(index, "reaction_to_post", self._persona("agent_roleplay_simple"),
                                     self._render("handler_reactions", recalled=memories, post_text=post.text),
                                     choice_schema("reaction", "reaction", REACTION_OPTIONS))
            reaction = self._parsed(parse_reaction(answer), answer)
        if reaction in ("like", "dislike"):
            self.result.intents.append(ReactionIntent(self.agent.agent_id, index, post.post_id, reaction))
            self.result.intents.append(InterestIntent(self.agent.agent_id, index, post_id=post.post_id))
        return reaction

    async def evaluate_follow(self, index: int, post: PostView, action: str) -> FollowIntent | None:
        """Ask whether to `action` (follow / unfollow) the author of `post`; the intent when YES."""
        if not self.agent.uses_llm:
            yes = self.rng.random() < 0.5
        else:
            memories = await self._recalled(index, f"@{post.author} {post.text}")
            answer = await self._ask(index, "evaluate_follow", self._persona("agent_roleplay_simple"),
                                     self._render("handler_follow", recalled=memories, post_text=post.text,
                                                  action=action),
                                     choice_schema("follow", "answer", ["YES", "NO"]))
            yes = bool(self._parsed(parse_yes_no(answer), answer))
        if not yes:
            return None
        intent = FollowIntent(self.agent.agent_id, index, post.author_id, "follow" if action == "follow" else "unfollow")
        self.result.intents.append(intent)
        return intent

    async def cast_vote(self, index: int, post: PostView) -> VoteIntent | None:
        """A voting preference (D / R / U) after reading `post`, or None when unparseable."""
        if not self.agent.uses_llm:
            preference = self.rng.choice(["D", "R", "U"])
        else:
            memories = await self._recalled(index, post.text)
            answer = await self._ask(index, "cast_vote", self._persona("agent_roleplay_simple"),
                                     self._render("handler_cast", recalled=memories, post_text=post.text),
                                     choice_schema("vote", "vote", VOTE_OPTIONS))
            preference = self._parsed(parse_vote(answer), answer)
        if preference is None:
            return None
        intent = VoteIntent(self.agent.agent_id, index, post.post_id, preference)
        self.result.intents.append(intent)
        return intent

    async def emotion_annotation(self, index: int, text: str) -> tuple[str, ...]:
        """The configured emotion labels `text` elicits; () when the agent does not annotate."""
        labels = list(self.agent.emotions)
        if not self.agent.annotate_emotions or not labels:
            return ()
        if not self.agent.uses_llm:
            return (self.rng.choice(labels),)
        answer = await self._ask(index, "emotion_annotation", self._render("handler_instructions", emotions=labels),
                                 self._render("handler_emotions", text=text), list_schema("emotions", "emotions", labels))
        return clean_emotion(answer, labels)

    async def update_opinions(self, index: int, post: PostView) -> list[OpinionIntent]:
        """Opinion dynamics after reading `post`: the agent's new opinion on each topic of the post
        that its author holds an opinion on."""
        model = self.opinion_model
        author_opinions = self.reads.opinions.get(post.author_id, {})
        if model is None or post.author_id == self.agent.agent_id:
            return []
        own = self.own_opinions
        intents = []
        for topic in post.topics:
            if topic not in author_opinions:
                continue
            x, y = own.get(topic), author_opinions[topic]
            if x is None:  # cold start: the opinion starts at its cold-start value, and Y Social asks no LLM
                new = model.start(x, y)
            elif model.model_name == "bounded_confidence":
                new = bounded_confidence(x, y, model)
            else:
                verdict = await self._verdict(index, topic, post, model.group(x), model.group(y))
                if verdict is None:
                    continue
                new = evaluated_opinion(x, y, verdict, model)
            own[topic] = new  # later rounds of this tick see the new opinion
            intents.append(OpinionIntent(self.agent.agent_id, index, topic, new, post.author_id, post.post_id))
        self.result.intents.extend(intents)
        return intents

    async def news_post(self, index: int, article: ArticleRef) -> PostIntent | None:
        """A page posting `article`: the post text, then its three topics (two LLM calls)."""
        if not self.agent.uses_llm:
            text, topics = f"News: {article.title}", tuple(self.agent.interests)
        else:
            raw = await self._ask(index, "news_post", self._persona("page_roleplay"),
                                  self._render("handler_news", article=_mapping(article),
                                               website={"name": article.website, "leaning": article.leaning or ""}))
            text = clean_text(raw, self.agent.name) if raw is not None else None
            if text is None:
                return None
            answer = await self._ask(index, "news_post_topics", self._render("handler_instructions_topics"),
                                     f"{article.title}\n{text}")
            topics = parse_topics(answer)
        return PostIntent(self.agent.agent_id, index, text, topics, post_hashtags(text), (), (), article=article)

    async def answer_interview(self, index: int, question: str, recent: list[str], function: str = "interview",
                               schema: dict | None = None) -> str | None:
        """The agent's answer in character to `question` (tasks.interviews, tasks.surveys: `function`
        names the call, `schema` a JSON-schema answer), with its persona, what it remembers and what
        it wrote last; None when no answer came back."""
        wrote = "".join(f"- {clip(text)}\n" for text in recent)
        memories = await self._recalled(index, question)
        raw = await self._ask(index, function, self._persona("agent_roleplay"),
                              self._render("handler_interview", recalled=memories, question=question,
                                           recent=f"Recently you wrote:\n{wrote}\n" if wrote else ""), schema)
        answer = " ".join(raw.split()) if raw is not None else ""
        return answer or None

    # --- helpers ------------------------------------------------------------------------------
    async def _verdict(self, index: int, topic: str, post: PostView, own: str, author: str) -> str | None:
        if not self.agent.uses_llm:
            return self.rng.choice(VERDICT_OPTIONS)
        memories = await self._recalled(index, f"{topic} {post.text}")
        answer = await self._ask(index, "update_opinions", self._persona("agent_roleplay_simple"),
                                 self._render("handler_opinion", recalled=memories, topic=topic, post_text=post.text,
                                              author_opinion=author, own_opinion=own, followees=""),
                                 choice_schema("verdict", "verdict", VERDICT_OPTIONS))
        return self._parsed(parse_verdict(answer), answer)

    def _persona(self, key: str, interest: list[str] | None = None) -> str:
        """The system message: the agent's custom prompt when it has one (Y Social replaces every
        role-play prompt with it), else the role-play prompt `key`."""
        if self.agent.custom_prompt and key != "page_roleplay":
            return self.agent.custom_prompt + ACT_AS_REQUESTED
        return self._render(key, interest=interest if interest is not None else list(self.agent.interests),
                            opinions=self._opinion_text())

    def _opinion_text(self) -> str:
        own = self.own_opinions
        if self.opinion_model is None or not own:
            return ""
        return " Your opinions: " + "; ".join(f"{t}: {self.opinion_model.group(v)}" for t, v in sorted(own.items())) + "."

    def _render(self, key: str, recalled: str = "", **slots: object) -> str:
        """Prompt `key` with `slots`; a prompt that shapes a decision or a text also gets what the
        agent remembers (`recalled`: `_recalled`'s block for the round and what it is about)."""
        if key not in MEMORY_PROMPTS:
            return render_prompt(self.prompts[key], self.agent, **slots)
        block = recalled
        template = self.prompts[key]
        text = render_prompt(template, self.agent, memories=block + "\n\n" if block else "", **slots)
        if block and "{memories}" not in template:  # a Y Social prompt file: where its client puts them
            text += f"\n\n##MEMORY CONTEXT##\n{block}\n##END MEMORY CONTEXT##"
        return text

    async def _recalled(self, index: int, about: str) -> str:
        """The memories a prompt about `about` recalls (agent_models.memory; relevance by the
        embedder's cosine similarity where memory has one, else word overlap), each recall recorded
        as an intent the apply phase writes; "" with memory off or nothing to recall."""
        if not self.memory.enabled or not self.reads.memories:
            return ""
        relevance = await self.embedder.relevance(about, self.reads.memories) if self.embedder is not None else None
        picked = recall(self.reads.memories, self.ctx.tick, about, self.memory,
                        rng_for(self.ctx.seed, self.ctx.tick, self.agent.agent_id, f"memory-{index}"), relevance)
        if picked.memory_ids:
            self.result.intents.append(RecallIntent(self.agent.agent_id, index, picked.memory_ids))
        return picked.block()

    async def _ask(self, index: int, function: str, system: str, prompt: str, schema: dict | None = None) -> str | None:
        site = CallSite(self.agent.agent_id, index, function,
                        llm_seed(self.ctx.seed, self.ctx.tick, self.agent.agent_id, index, function))
        assert self.llm is not None, "LLM agents need an LLM client"
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        answer, record = await self.llm.complete(site, messages, self.model, schema)
        self.result.llm_calls.append(record)
        return answer

    def _parsed(self, value, answer: str | None):
        """`value` parsed from the last call's answer; an answer that parses to nothing marks that
        call `unparseable` (the agent then does nothing: an answer is never guessed)."""
        if value is None and answer is not None and self.result.llm_calls:
            self.result.llm_calls[-1] = dataclasses.replace(self.result.llm_calls[-1], outcome="unparseable",
                                                            error=f"no option in {answer[:80]!r}")
        return value

    def record(self, index: int, action: str, status: str, detail: str = "") -> None:
        self.result.actions.append(ActionRecord(self.agent.agent_id, index, action, status, detail))


def _mapping(article: ArticleRef) -> dict[str, str]:
    return {"title": article.title, "summary": article.summary, "link": article.link, "name": article.website,
            "leaning": article.leaning or ""}


def _tag(topic: str) -> str:
    return re.sub(r"\W+", "", topic.title()) or "today"
