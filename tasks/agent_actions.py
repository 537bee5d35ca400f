"""GPU agent functions of a tick (phase 3): each round, answer a mention, choose an action, carry it out.

Y Social's loop for one agent: before each round it replies to one unanswered mention, then
chooses among the round's candidates and acts. The actions, built from the LLM functions of
`tasks.agent_steps`:

- POST: one or two of the agent's current interests -> a post (hashtags, mentions, emotions);
- COMMENT / SEARCH: a post from the feed / from the search results -> a comment on its thread,
  a reaction, and opinion dynamics;
- READ: a post from the feed -> a reaction; after a like (dislike), with the agent's secondary
  follow probability, the LLM decides whether to follow (unfollow) the author;
- FOLLOW: a target drawn from the follow recommender's suggestions by score;
- SHARE: a post that carries a news article -> a post sharing it;
- CAST: a post from the feed -> a vote;
- NEWS (pages only): an article from the page's feed -> a post with its three topics.

Rule-based agents (`Fake*`) run the same steps with template text and seeded chance. Every
outcome is a value: intents for the apply phase, a record per round, a record per LLM call.
The agents of a batch run concurrently. One agent's steps (a reply; a choice and its action)
start in order, each once the previous one has made its last draw and its last change to what a
later step reads (`release()`): the LLM may still be writing the previous post or comment
(tasks.round_steps); the outcome is that of steps run one after another.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterator
from contextlib import asynccontextmanager
from typing import TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE

from agent_models import AgentTurn, BatchResult, FollowIntent
from agent_models.activity import NONE_ACTION
from agent_models.interests import choose_post_topics
from agent_models.intents import InterestIntent
from agent_models.prompts import prompt_set
from agent_models.run_config import SUPPORTED_ACTIONS
from tasks.agent_steps import AgentSteps
from tasks.context import AgentReads, BatchReads, PostView, Sealed, TickContext, sealed_result, unsealed
from db import session_factory
from db.llm_spend import record_pending
from tasks.function_runs import FunctionRuns
from tasks.llm_pool import LLMPool
from tasks.round_steps import OverlappedSteps, current_step

T = TypeVar("T")

ACTIONS = tuple(a.upper() for a in SUPPORTED_ACTIONS) + ("NEWS",)  # what `AgentRunner.perform` carries out


@task(name="decide", tags=["gpu"], cache_policy=NO_CACHE)
async def act_for_turns(ctx: TickContext, turns: list[AgentTurn] | Sealed, reads: BatchReads | Sealed,
                        batch: int = 0) -> Sealed:
    """Phase 3 as a task: `act_batch`, its LLM requests served by the batch's function runs
    (`post_content[b3]`, ...: tasks.function_runs), its result sealed for Prefect (see `Sealed`)."""
    runs = FunctionRuns(batch, ctx.config.ray.task_retries, ctx.config.ray.task_retry_delay_s)
    return sealed_result(await act_batch(ctx, unsealed(turns), unsealed(reads), runs))


async def act_batch(ctx: TickContext, turns: list[AgentTurn], reads: BatchReads,
                    runs: FunctionRuns | None = None, overlap: bool = True) -> BatchResult:
    """Phase 3 for a batch of agents; with `runs`, each LLM request goes through its function's run.
    `overlap=False` runs each agent's steps strictly one after another (`AgentRunner.run`): the
    same outcome, later; the tests compare the two."""
    prompts = prompt_set(ctx.config.prompts)
    route = runs.client if runs is not None else (lambda llm: llm)
    try:
        async with tick_llm_pool(ctx) as llms:
            results = await gather_all(*(
                AgentRunner(ctx, turn.agent, reads.by_agent.get(turn.agent.agent_id, AgentReads()),
                            route(llms.for_agent(turn.agent)), prompts=prompts).run(turn, overlap)
                for turn in turns))
    finally:
        if runs is not None:  # the agents are done: close the function runs; none outlives the batch
            await runs.wait_closed()
    batch = BatchResult()
    for result in results:
        batch.extend(result)
    if runs is not None:
        batch.function_runs = {name: (count.runs, count.retries) for name, count in runs.counts().items()}
    return batch


@asynccontextmanager
async def tick_llm_pool(ctx: TickContext) -> AsyncIterator[LLMPool]:
    """The clients a batch of the tick asks (tasks.llm_pool); when the batch ends, failed or not,
    the requests they sent are recorded as the tick's pending spend (db.llm_spend), in a
    transaction of their own: a failed tick leaves what it spent, and its retry reuses the answers."""
    llms = LLMPool.for_run(ctx.config.llm, ctx.db_url, (ctx.run_id, ctx.tick))
    try:
        yield llms
    finally:
        sent = llms.sent()
        await llms.close()
        if sent:
            with session_factory(ctx.db_url).begin() as session:
                record_pending(session, ctx.run_id, ctx.tick, sent)


async def gather_all(*awaitables: Awaitable[T]) -> list[T]:
    """Every result, in order, once all have ended; only then the first error is raised, so that
    the answers the other agents received are recorded (and reused by the retry) before the batch fails."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


class AgentRunner(AgentSteps):
    """One agent acting in one tick: replies, choices and actions, in Y Social's order.

    `run(turn)` plays a tick's rounds; `choose`, `perform` and `reply` are the single steps that
    `wrap_agent_data` calls one at a time.
    """

    async def run(self, turn: AgentTurn, overlap: bool = True) -> BatchResult:
        """Play the tick's rounds. With `overlap`, a step (a reply, or a choice and its action)
        starts as soon as the previous one has made its last draw (tasks.round_steps): what
        comes out is what rounds one after another give, only sooner."""
        if not (overlap and self.overlaps):
            for index, candidates in enumerate(turn.rounds):
                for step in self._round_steps(turn, index, list(candidates)):
                    await step
            return self.result
        steps = OverlappedSteps(self, self._result)
        for index, candidates in enumerate(turn.rounds):
            for step in self._round_steps(turn, index, list(candidates)):
                await steps.start(step)
        await steps.finish()
        return self._result

    @property
    def overlaps(self) -> bool:
        """Whether this agent's steps may overlap: only an LLM agent waits for anything, and an
        agent with opinion dynamics changes its opinions (which later prompts show) after the
        LLM answers, so its steps run one after another."""
        return self.agent.uses_llm and self.opinion_model is None

    def release(self) -> None:
        """The running step has made its last draw and its last change to what a later step reads:
        the next step may start (tasks.round_steps)."""
        step = current_step(self)
        if step is not None:
            step.released.set()

    def _round_steps(self, turn: AgentTurn, index: int, candidates: list[str]) -> Iterator[Coroutine]:
        """Round `index`'s steps, in Y Social's order: answer a mention, then choose and act."""
        if index == turn.daily_follow_round:
            yield self._daily_follow(index, candidates)
            return
        if not self.agent.is_page:
            yield self.reply(index)
        if tuple(candidates) == ("NEWS",):  # a page's hour: no choice to make
            yield self.perform(index, "NEWS")
        else:
            yield self._choose_and_act(index, candidates)

    async def _choose_and_act(self, index: int, candidates: list[str]) -> None:
        action = await self.choose(index, candidates)
        if action is None:
            self.record(index, "?", "unparseable", "the action choice named no candidate")
        elif action == NONE_ACTION:
            self.record(index, action, "none")
        else:
            await self.perform(index, action)

    async def choose(self, index: int, candidates: list[str]) -> str | None:
        return await self.select_action_llm(index, candidates)

    async def perform(self, index: int, action: str, post: PostView | None = None) -> None:
        """Carry out `action` (one of ACTIONS) as round `index`; post-based actions take `post` if given."""
        handlers = {"POST": self._do_post, "FOLLOW": self._do_follow, "NEWS": self._do_news}
        post_handlers = {"COMMENT": self._do_comment, "READ": self._do_read, "SEARCH": self._do_search,
                         "SHARE": self._do_share, "CAST": self._do_cast}
        if action in handlers:
            await handlers[action](index)
        elif action in post_handlers:
            await post_handlers[action](index, post)
        else:
            raise ValueError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")

    async def reply(self, index: int) -> None:
        """Answer one unanswered mention, drawn at random, if there is any (Y Social's `reply`)."""
        if not self.reads.mentions:
            return
        mention_id, post = self.reads.mentions.pop(self.rng.randrange(len(self.reads.mentions)))
        self.release()
        comment = await self.comment_on_post(index, post, answers_mention=mention_id)
        if comment is None:
            self.record(index, "REPLY", "unparseable", "no usable reply text")
            return
        self.result.intents.append(comment)
        self.result.intents.append(InterestIntent(self.agent.agent_id, index, post_id=post.post_id))
        await self.update_opinions(index, post)
        self.record(index, "REPLY", "done", f"mention {mention_id} in post {post.post_id}")

    # --- actions ------------------------------------------------------------------------------
    async def _do_post(self, index: int) -> None:
        topics = choose_post_topics(self.reads.current_interests or self.agent.interests, self.rng)
        self.release()
        post = await self.post_content(index, topics)
        if post is None:
            self.record(index, "POST", "unparseable", "no usable post text")
            return
        self.result.intents.append(post)
        if topics:
            self.result.intents.append(InterestIntent(self.agent.agent_id, index, topics=topics))
        self.record(index, "POST", "done")

    async def _do_comment(self, index: int, post: PostView | None = None, action: str = "COMMENT",
                          pool: list[PostView] | None = None) -> None:
        post = post or self._pick(self.reads.feed if pool is None else pool)
        self.release()
        if post is None:
            self.record(index, action, "no_target", "no post to comment on")
            return
        comment = await self.comment_on_post(index, post)
        if comment is None:
            self.record(index, action, "unparseable", "no usable comment text")
            return
        self.result.intents.append(comment)
        self.result.intents.append(InterestIntent(self.agent.agent_id, index, post_id=post.post_id))
        await self.reaction_to_post(index, post)  # Y Social reacts to what it commented on (no follow check)
        await self.update_opinions(index, post)
        self.record(index, action, "done", f"post {post.post_id}")

    async def _do_search(self, index: int, post: PostView | None = None) -> None:
        await self._do_comment(index, post, "SEARCH", self.reads.search_results)

    async def _do_read(self, index: int, post: PostView | None = None) -> None:
        post = post or self._pick(self.reads.feed)
        if post is None:
            self.record(index, "READ", "no_target", "empty feed")
            return
        reaction = await self.reaction_to_post(index, post)
        if reaction is None:
            self.record(index, "READ", "unparseable", f"no reaction to post {post.post_id}")
            return
        detail = f"{reaction} post {post.post_id}"
        follow = await self.secondary_follow(index, post, reaction)
        if follow is not None:
            detail += f", {follow.action} agent {follow.target_id}"
        self.record(index, "READ", "done", detail)

    async def secondary_follow(self, index: int, post: PostView, reaction: str) -> FollowIntent | None:
        """After a like, maybe follow the author; after a dislike, maybe unfollow (Y Social's rule,
        with a chance of `probability_of_secondary_follow`). Only a change is asked about."""
        following = post.author_id in self.reads.followees
        if reaction == "like" and not following:
            action = "follow"
        elif reaction == "dislike" and following:
            action = "unfollow"
        else:
            return None
        if post.author_id == self.agent.agent_id or self.rng.random() >= self.agent.probability_of_secondary_follow:
            return None
        follow = await self.evaluate_follow(index, post, action)
        if follow is not None:
            (self.reads.followees.add if action == "follow" else self.reads.followees.discard)(post.author_id)
        return follow

    async def _do_follow(self, index: int, detail: str = "") -> None:
        suggestions = self.reads.follow_suggestions
        if not suggestions:
            self.record(index, "FOLLOW", "no_target", "no follow suggestions")
            return
        targets = sorted(suggestions)
        target = self.rng.choices(targets, weights=[suggestions[t] for t in targets], k=1)[0]
        self.result.intents.append(FollowIntent(self.agent.agent_id, index, target))
        self.record(index, "FOLLOW", "done", f"agent {target}{detail}")

    async def _daily_follow(self, index: int, candidates: list[str]) -> None:
        """The end-of-day round: FOLLOW or NONE, chosen like any round (Y Social's daily follow)."""
        action = await self.choose(index, candidates)
        if action == "FOLLOW":
            await self._do_follow(index, " (daily)")
        else:
            self.record(index, action or "?", "none" if action else "unparseable", "daily follow")

    async def _do_share(self, index: int, post: PostView | None = None) -> None:
        pool = [p for p in self.reads.feed if p.article is not None] or self.reads.shareable
        post = post or self._pick(pool)
        self.release()
        if post is None or post.article is None:
            self.record(index, "SHARE", "no_target", "no post with a news article")
            return
        share = await self.share_post(index, post)
        if share is None:
            self.record(index, "SHARE", "unparseable", "no usable share text")
            return
        self.result.intents.append(share)
        self.record(index, "SHARE", "done", f"post {post.post_id}")

    async def _do_cast(self, index: int, post: PostView | None = None) -> None:
        post = post or self._pick(self.reads.feed)
        self.release()
        if post is None:
            self.record(index, "CAST", "no_target", "empty feed")
            return
        vote = await self.cast_vote(index, post)
        if vote is None:
            self.record(index, "CAST", "unparseable", f"no vote on post {post.post_id}")
        else:
            self.record(index, "CAST", "done", f"{vote.preference} on post {post.post_id}")

    async def _do_news(self, index: int) -> None:
        self.release()  # a page draws nothing for its news post
        if self.reads.article is None:
            self.record(index, "NEWS", "no_target", self.reads.article_problem or "no article in the page's feed")
            return
        post = await self.news_post(index, self.reads.article)
        if post is None:
            self.record(index, "NEWS", "unparseable", "no usable news text")
            return
        self.result.intents.append(post)
        self.record(index, "NEWS", "done", self.reads.article.link)

    def _pick(self, posts: list[PostView]) -> PostView | None:
        return self.rng.choice(posts) if posts else None
