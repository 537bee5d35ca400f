"""GPU agent functions of a tick (phase 3): choose each round's action and carry it out.

LLM agents ask the LLM to choose among the round's candidates, then write a post, write a
comment and react to the post commented on, react to a post read, or follow a suggested
agent. Rule-based agents (`Fake*`) do the same with seeded chance and template text. Every
outcome is a value: intents for the apply phase, a record per round, a record per LLM call.
The agents of a batch run concurrently; one agent's rounds run in order.
"""

from __future__ import annotations

import asyncio
import dataclasses

from prefect import task
from prefect.cache_policies import NO_CACHE

from agent_models import (
    ActionRecord, AgentData, AgentTurn, BatchResult, CommentIntent, FollowIntent, PostIntent,
    ReactionIntent, llm_seed, rng_for,
)
from agent_models.parsing import clean_comment, clean_text, parse_choice, parse_reaction
from agent_models.prompts import PROMPTS, choice_schema, render_prompt
from agent_models.run_config import SUPPORTED_ACTIONS
from tasks.context import AgentReads, BatchReads, PostView, TickContext
from tasks.llm_cache import ResponseCache
from tasks.llm_client import CallSite, LLMClient

REACTION_OPTIONS = ["LIKE", "DISLIKE", "NEUTRAL"]


@task(name="decide", tags=["gpu"], cache_policy=NO_CACHE)
async def act_for_turns(ctx: TickContext, turns: list[AgentTurn], reads: BatchReads) -> BatchResult:
    """Phase 3 for a batch of agents."""
    llm = LLMClient(ctx.config.llm, ctx.config.llm.url or "", ctx.config.llm.model, ResponseCache(ctx.db_url))
    try:
        results = await asyncio.gather(*(
            AgentRunner(ctx, turn.agent, reads.by_agent.get(turn.agent.agent_id, AgentReads()), llm).run(turn)
            for turn in turns))
    finally:
        await llm.close()
    batch = BatchResult()
    for result in results:
        batch.extend(result)
    return batch


ACTIONS = tuple(a.upper() for a in SUPPORTED_ACTIONS)  # what `AgentRunner.perform` carries out


class AgentRunner:
    """One agent acting in one tick: choosing among candidates and carrying actions out.

    `run(turn)` plays a tick's rounds; `choose` and `perform` are the single steps, which
    `wrap_agent_data` calls one at a time. `stream` separates the random draws of separate calls
    made for the same agent and tick.
    """

    def __init__(self, ctx: TickContext, agent: AgentData, reads: AgentReads, llm: LLMClient | None,
                 stream: str = "act") -> None:
        self.ctx, self.agent, self.reads, self.llm = ctx, agent, reads, llm
        self.rng = rng_for(ctx.seed, ctx.tick, self.agent.agent_id, stream)
        self.result = BatchResult()
        self.system = (self.agent.custom_prompt + " - Act as requested." if self.agent.custom_prompt
                       else render_prompt(PROMPTS["roleplay"], self.agent, interests=self.agent.interests))

    async def run(self, turn: AgentTurn) -> BatchResult:
        for index, candidates in enumerate(turn.rounds):
            action = await self.choose(index, list(candidates))
            if action is None:
                self.record(index, "?", "unparseable", "the action choice named no candidate")
            elif action == "NONE":
                self.record(index, action, "none")
            else:
                await self.perform(index, action)
        return self.result

    async def perform(self, index: int, action: str, post: PostView | None = None) -> None:
        """Carry out `action` (one of ACTIONS) as round `index`; COMMENT and READ take `post` if given."""
        if action == "POST":
            await self._do_post(index)
        elif action == "COMMENT":
            await self._do_comment(index, post)
        elif action == "READ":
            await self._do_read(index, post)
        elif action == "FOLLOW":
            await self._do_follow(index)
        else:
            raise ValueError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")

    # --- choosing ---------------------------------------------------------------------------
    async def choose(self, index: int, candidates: list[str]) -> str | None:
        self.rng.shuffle(candidates)  # Y Social shuffles the options shown
        if not self.agent.uses_llm:
            return self.rng.choice(candidates)
        options = list(dict.fromkeys(candidates))
        answer = await self._ask(index, "select_action",
                                 render_prompt(PROMPTS["choose_action"], self.agent, actions=", ".join(options)),
                                 choice_schema("action_choice", "action", options))
        return self._parsed(parse_choice(answer, options, "action"), answer)

    # --- actions ----------------------------------------------------------------------------
    async def _do_post(self, index: int) -> None:
        topic = self.rng.choice(self.agent.interests) if self.agent.interests else "your day"
        if not self.agent.uses_llm:
            text = f"Sample post about {topic}."
        else:
            raw = await self._ask(index, "post_content", render_prompt(PROMPTS["post"], self.agent, topic=topic))
            text = clean_text(raw, self.agent.name) if raw is not None else None
        if text is None:
            self.record(index, "POST", "unparseable", "no usable post text")
            return
        self.result.intents.append(PostIntent(self.agent.agent_id, index, text,
                                              (topic,) if self.agent.interests else ()))
        self.record(index, "POST", "done")

    async def _do_comment(self, index: int, post: PostView | None = None) -> None:
        post = post or self._pick_post()
        if post is None:
            self.record(index, "COMMENT", "no_target", "empty feed")
            return
        if not self.agent.uses_llm:
            text = f"Comment on @{post.author}'s post."
        else:
            thread = "".join(f"@{author} - {text}\n" for author, text in self.reads.threads.get(post.post_id, []))
            raw = await self._ask(index, "comment_on_post", render_prompt(PROMPTS["comment"], self.agent,
                                                                          thread=thread or f"@{post.author} - {post.text}\n"))
            text = clean_comment(raw, self.agent.name) if raw is not None else None
        if text is None:
            self.record(index, "COMMENT", "unparseable", "no usable comment text")
            return
        self.result.intents.append(CommentIntent(self.agent.agent_id, index, post.post_id, text))
        # Y Social reacts to the post it commented on, in the same round.
        await self._react(index, post)
        self.record(index, "COMMENT", "done", f"post {post.post_id}")

    async def _do_read(self, index: int, post: PostView | None = None) -> None:
        post = post or self._pick_post()
        if post is None:
            self.record(index, "READ", "no_target", "empty feed")
            return
        reaction = await self._react(index, post)
        if reaction is None:
            self.record(index, "READ", "unparseable", f"no reaction to post {post.post_id}")
        else:
            self.record(index, "READ", "done", f"{reaction} post {post.post_id}")

    async def _do_follow(self, index: int) -> None:
        suggestions = self.reads.follow_suggestions
        if not suggestions:
            self.record(index, "FOLLOW", "no_target", "no follow suggestions")
            return
        targets = sorted(suggestions)
        target = self.rng.choices(targets, weights=[suggestions[t] for t in targets], k=1)[0]
        self.result.intents.append(FollowIntent(self.agent.agent_id, index, target))
        self.record(index, "FOLLOW", "done", f"agent {target}")

    # --- helpers ----------------------------------------------------------------------------
    def _pick_post(self) -> PostView | None:
        return self.rng.choice(self.reads.feed) if self.reads.feed else None

    async def _react(self, index: int, post: PostView) -> str | None:
        if not self.agent.uses_llm:
            reaction = self.rng.choice(["like", "dislike"])
        else:
            answer = await self._ask(index, "reaction_to_post",
                                     render_prompt(PROMPTS["react"], self.agent, post_text=post.text),
                                     choice_schema("reaction", "reaction", REACTION_OPTIONS))
            reaction = self._parsed(parse_reaction(answer), answer)
        if reaction in ("like", "dislike"):
            self.result.intents.append(ReactionIntent(self.agent.agent_id, index, post.post_id, reaction))
        return reaction

    async def _ask(self, index: int, function: str, prompt: str, schema: dict | None = None) -> str | None:
        site = CallSite(self.agent.agent_id, index, function,
                        llm_seed(self.ctx.seed, self.ctx.tick, self.agent.agent_id, index, function))
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": prompt}]
        assert self.llm is not None, "LLM agents need an LLM client"
        answer, record = await self.llm.complete(site, messages, self.agent.type, schema)
        self.result.llm_calls.append(record)
        return answer

    def _parsed(self, value: str | None, answer: str | None) -> str | None:
        """`value` parsed from the last call's answer; an answer that parses to nothing marks that
        call `unparseable` (the agent then does nothing: an answer is never guessed)."""
        if value is None and answer is not None and self.result.llm_calls:
            self.result.llm_calls[-1] = dataclasses.replace(self.result.llm_calls[-1], outcome="unparseable",
                                                            error=f"no option in {answer[:80]!r}")
        return value

    def record(self, index: int, action: str, status: str, detail: str = "") -> None:
        self.result.actions.append(ActionRecord(self.agent.agent_id, index, action, status, detail))
