"""The 29 agent functions as the seed calls them: one agent (or post, or text) at a time.

Each function here has the seed's signature (Y Social PR #21's `agent_functions` and
`agent_llm_functions`, plus ysim's `news_post`), listed in `SIGNATURES`, and an implementation
that computes what the call does without writing: a `CallOutcome` holding the value, the intents
and LLM call records, and the feeds it served. `tasks.direct_calls` runs these, alone (write at
once, one transaction per call) or many at a time on Ray (one transaction after all of them),
so both give the same rows. The steps are the tick's own (`AgentRunner`), so a call writes the
rows a tick writes for the same outcome: the action record, the post, its hashtags, mentions,
topics and emotions, the interests, the reaction, the follow, the vote, the opinions.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_models import AgentData, AgentTurn, BatchResult, FollowIntent, rng_for
from agent_models import parsing, prompts
from agent_models.activity import NONE_ACTION
from agent_models.interests import choose_post_topics
from agent_models.intents import InterestIntent, LeaveIntent
from db import ServedFeed, direct_call_queries, platform_queries, queries, session_factory
from tasks.agent_actions import ACTIONS, AgentRunner
from tasks.context import AgentReads, BatchReads, PostView, TickContext
from tasks.llm_pool import LLMPool
from tasks.platform import post_views, read_batch
from tasks.platform_env import Platform

WHOLE_THREAD = 1 << 30  # the seed's get_thread without max_tweets: every message of the thread


# --- the seed's signatures -------------------------------------------------------------------------
# Bodies are never run: `inspect.signature` of each binds a call's arguments (tasks.direct_calls).
def extract_components(text, c_type="hashtags"): ...
def clean_text(text, agent_name): ...
def clean_emotion(text, emotions_list): ...
def render_prompt(template, agent_data, **slots): ...
def get_user_from_post(agent_data, post_id=None): ...
def get_article(agent_data, post_id=None): ...
def get_post(agent_data, post_id=None): ...
def get_thread(agent_data, post_id=None, max_tweets=None): ...
def get_interests(agent_data, tid=-1): ...
def get_opinions(agent_data): ...
def update_user_interests(agent_data, post_id, tid): ...
def follow_action(agent_data, tid, target=None, post_id=None, action="follow"): ...
def read_posts(agent_data, article=False, tid=None): ...
def read_mentions(agent_data, tid=None): ...
def search_posts(agent_data, tid=None): ...
def search_follow_suggestions(agent_data, tid=None): ...
def get_followers(agent_data): ...
def get_timeline(agent_data, limit=10): ...
def churn_system(agent_data, tid): ...
def post_content(agent_data, tid): ...
def comment_on_post(agent_data, post_id, tid, max_length_threads=None): ...
def share_post(agent_data, post_id, tid): ...
def reaction_to_post(agent_data, post_id, tid, check_follow=True): ...
def evaluate_follow(agent_data, post_text, post_id, action, tid): ...
def select_action_llm(agent_data, tid, actions, max_length_thread_reading=5): ...
def emotion_annotation(agent_data, text_to_annotate): ...
def cast_vote(agent_data, post_id, tid): ...
def update_opinions(agent_data, post_id, tid, text=None): ...
def news_post(agent_data, tid): ...


SIGNATURES: dict[str, Callable[..., Any]] = {fn.__name__: fn for fn in (
    extract_components, clean_text, clean_emotion, render_prompt, get_user_from_post, get_article, get_post,
    get_thread, get_interests, get_opinions, update_user_interests, follow_action, read_posts, read_mentions,
    search_posts, search_follow_suggestions, get_followers, get_timeline, churn_system, post_content,
    comment_on_post, share_post, reaction_to_post, evaluate_follow, select_action_llm, emotion_annotation,
    cast_vote, update_opinions, news_post)}
PURE = frozenset({"extract_components", "clean_text", "clean_emotion", "render_prompt"})
POST_FIRST = frozenset({"get_user_from_post", "get_article", "get_post", "get_thread"})  # agent optional
LLM_FUNCTIONS = frozenset({"post_content", "comment_on_post", "share_post", "reaction_to_post", "evaluate_follow",
                           "select_action_llm", "emotion_annotation", "cast_vote", "update_opinions", "news_post"})


# --- what a call is and what it produced -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DirectCall:
    """One checked call: its function, agent (None for pure and post-only calls), arguments by
    the seed's parameter names, the tick it acts at and its round index there."""

    function: str
    agent: AgentData | None
    arguments: Mapping[str, Any]
    tick: int = 0
    index: int = 0


NEW_POST, IF_ACCEPTED, VALUE = "new_post", "if_accepted", "value"


@dataclass(slots=True)
class CallOutcome:
    """What a call produced: its value (or how to find it once written), rows to write, feeds served."""

    value: Any = None
    result: BatchResult = field(default_factory=BatchResult)
    feeds: list[ServedFeed] = field(default_factory=list)
    returns: str = VALUE  # NEW_POST: the id of the post written; IF_ACCEPTED: value unless the writer refused


class CallEnv:
    """What the calls computed together share in one process: the platform, LLM clients, prompts,
    and their reads, fetched once for all of them (the read phase of a tick, for these calls)."""

    def __init__(self, platform: Platform, llms: LLMPool | None, calls: Sequence[DirectCall] = ()) -> None:
        self.platform, self.llms, self.calls = platform, llms, list(calls)
        self.prompts = prompts.prompt_set(platform.config.prompts)
        self._reads: dict[tuple, BatchReads] = {}
        self._posts: _PostContext | None = None

    def ctx(self, call: DirectCall, thread_length: int | None = None) -> TickContext:
        config = self.platform.config
        if thread_length:
            config = config.model_copy(update={"agents": config.agents.model_copy(
                update={"max_length_thread_reading": thread_length})})
        return TickContext(self.platform.run_id, call.tick, config, same_tick_visible=True)

    def runner(self, call: DirectCall, reads: AgentReads, agent: AgentData | None = None,
               thread_length: int | None = None) -> AgentRunner:
        agent = agent or call.agent
        llm = self.llms.for_agent(agent) if self.llms is not None else None
        return AgentRunner(self.ctx(call, thread_length), agent, reads, llm, stream=f"direct-{call.index}",
                           prompts=self.prompts)

    def session(self):
        return session_factory(self.platform.db_url).begin()

    def reads(self, call: DirectCall, candidates: tuple[str, ...],
              thread_length: int | None = None) -> tuple[AgentReads, list[ServedFeed]]:
        """The read phase for `call`'s agent with these candidate actions, and the feeds served it:
        one `read_batch` for every call of this env that reads the same way."""
        key = (call.tick, candidates, thread_length)
        if key not in self._reads:
            agents = {c.agent.agent_id: c.agent for c in self.calls
                      if c.agent is not None and c.tick == call.tick and read_key(c) == (candidates, thread_length)}
            agents.setdefault(call.agent.agent_id, call.agent)
            self._reads[key] = read_batch(self.ctx(call, thread_length),
                                          [AgentTurn(a, (candidates,)) for _, a in sorted(agents.items())])
        batch = self._reads[key]
        # A copy: the agent's steps change their reads (a mention answered), and an agent may be
        # called more than once; each call reads the platform as it was.
        return (copy.deepcopy(batch.by_agent[call.agent.agent_id]),
                [f for f in batch.served if f.agent_id == call.agent.agent_id])

    def post_reads(self, call: DirectCall, post_id: int, thread_length: int | None = None,
                   opinions: bool = False, followees: bool = False) -> tuple[PostView, AgentReads]:
        """The post as the agent reads it, its thread, and the agent's and author's opinions /
        followees: fetched once, in one session, for every call of this env that names a post."""
        length = thread_length or self.platform.config.agents.max_length_thread_reading
        if self._posts is None or length not in self._posts.threads or post_id not in self._posts.views:
            self._posts = self._fetch_posts({length}, {post_id})
        view = self._posts.views[post_id]
        reads = AgentReads(threads={post_id: list(self._posts.threads[length].get(post_id, []))})
        if opinions:
            reads.opinions = {a: dict(self._posts.opinions[a]) for a in (call.agent.agent_id, view.author_id)
                              if a in self._posts.opinions}
        if followees:
            reads.followees = set(self._posts.followees.get(call.agent.agent_id, set()))
        return view, reads

    def _fetch_posts(self, lengths: set[int], post_ids: set[int]) -> "_PostContext":
        default = self.platform.config.agents.max_length_thread_reading
        named = [c for c in self.calls if c.arguments.get("post_id") is not None]
        post_ids = post_ids | {c.arguments["post_id"] for c in named}
        lengths = lengths | {thread_length(c, default) for c in named}
        agents = {c.agent.agent_id for c in named if c.agent is not None}
        with self.session() as session:
            views = post_views(session, post_ids)
            threads = {n: queries.threads(session, post_ids, n) for n in lengths}
            held = platform_queries.latest_opinions(session, self.platform.run_id,
                                                    agents | {v.author_id for v in views.values()})
            followees = queries.current_followees(session, agents)
        return _PostContext(views, threads, held, followees)


@dataclass(slots=True)
class _PostContext:
    views: dict[int, PostView]
    threads: dict[int, dict[int, list[tuple[str, str]]]]  # thread length -> post id -> (author, text)
    opinions: dict[int, dict[str, float]]
    followees: dict[int, set[int]]


def thread_length(call: DirectCall, default: int) -> int:
    """How many messages of a thread `call` reads: `get_thread`'s `max_tweets` (None: all of them),
    a comment's `max_length_threads`, else `default` (the run's `agents.max_length_thread_reading`)."""
    if call.function == "get_thread":
        return call.arguments["max_tweets"] or WHOLE_THREAD
    return call.arguments.get("max_length_threads") or default


def read_key(call: DirectCall) -> tuple[tuple[str, ...], int | None] | None:
    """How `call` reads the platform through the read phase: (candidate actions, thread length)."""
    a = call.arguments
    if call.function == "select_action_llm":
        return tuple(a["actions"]), a["max_length_thread_reading"]
    if call.function == "read_posts":
        return ("SHARE" if a["article"] else "READ",), None
    simple = {"post_content": "POST", "read_mentions": NONE_ACTION, "search_posts": "SEARCH",
              "search_follow_suggestions": "FOLLOW", "news_post": "NEWS"}
    return ((simple[call.function],), None) if call.function in simple else None


# --- CPU functions -----------------------------------------------------------------------------------
def _pure(env: CallEnv | None, call: DirectCall) -> CallOutcome:
    a = call.arguments
    if call.function == "extract_components":
        return CallOutcome(parsing.extract_components(a["text"], a["c_type"]))
    if call.function == "clean_text":
        return CallOutcome(parsing.clean_text(a["text"], a["agent_name"]))
    if call.function == "clean_emotion":
        return CallOutcome(list(parsing.clean_emotion(a["text"], list(a["emotions_list"]))))
    return CallOutcome(prompts.render_prompt(a["template"], a["agent_data"], **a.get("slots", {})))


def _get_user_from_post(env: CallEnv, call: DirectCall) -> CallOutcome:
    return CallOutcome(env.post_reads(call, call.arguments["post_id"])[0].author_id)


def _get_article(env: CallEnv, call: DirectCall) -> CallOutcome:
    article = env.post_reads(call, call.arguments["post_id"])[0].article
    return CallOutcome(dataclasses.asdict(article) if article is not None else None)


def _get_post(env: CallEnv, call: DirectCall) -> CallOutcome:
    return CallOutcome(env.post_reads(call, call.arguments["post_id"])[0].text)


def _get_thread(env: CallEnv, call: DirectCall) -> CallOutcome:
    post_id = call.arguments["post_id"]
    _, reads = env.post_reads(call, post_id, thread_length(call, 0))
    return CallOutcome([f"@{author} - {text}\n" for author, text in reads.threads[post_id]])


def _get_interests(env: CallEnv, call: DirectCall) -> CallOutcome:
    agent = call.agent
    with env.session() as session:
        current = platform_queries.current_interests(session, env.platform.run_id, [agent], call.tick)
        names = choose_post_topics(current[agent.agent_id] or agent.interests,
                                   rng_for(env.platform.config.simulation.seed, call.tick, agent.agent_id,
                                           f"get_interests-{call.index}"))
        ids = direct_call_queries.topic_ids(session, env.platform.run_id, names)  # reads only: no new topics
    return CallOutcome((list(names), [ids.get(n) for n in names]))


def _get_opinions(env: CallEnv, call: DirectCall) -> CallOutcome:
    with env.session() as session:
        found = platform_queries.latest_opinions(session, env.platform.run_id, [call.agent.agent_id])
    return CallOutcome(dict(found.get(call.agent.agent_id, {})))


def _update_user_interests(env: CallEnv, call: DirectCall) -> CallOutcome:
    intent = InterestIntent(call.agent.agent_id, call.index, post_id=call.arguments["post_id"])
    return CallOutcome(None, BatchResult(intents=[intent]))


def _follow_action(env: CallEnv, call: DirectCall) -> CallOutcome:
    target, post_id = call.arguments["target"], call.arguments["post_id"]
    if post_id is not None:  # the seed's rule: a post names its author as the target
        with env.session() as session:
            target = platform_queries.post_authors(session, [post_id]).get(post_id)
    if target is None:
        return CallOutcome(None)
    intent = FollowIntent(call.agent.agent_id, call.index, int(target), call.arguments["action"])
    return CallOutcome(None, BatchResult(intents=[intent]))


def _read_posts(env: CallEnv, call: DirectCall) -> CallOutcome:
    article = bool(call.arguments["article"])
    reads, served = env.reads(call, ("SHARE" if article else "READ",))
    posts = ([p for p in reads.feed if p.article is not None] or reads.shareable) if article else reads.feed
    return CallOutcome([p.post_id for p in posts], feeds=served)


def _read_mentions(env: CallEnv, call: DirectCall) -> CallOutcome:
    reads, _ = env.reads(call, (NONE_ACTION,))
    return CallOutcome([post.post_id for _, post in reads.mentions])


def _search_posts(env: CallEnv, call: DirectCall) -> CallOutcome:
    reads, _ = env.reads(call, ("SEARCH",))
    return CallOutcome([p.post_id for p in reads.search_results])


def _search_follow_suggestions(env: CallEnv, call: DirectCall) -> CallOutcome:
    reads, _ = env.reads(call, ("FOLLOW",))
    return CallOutcome(dict(reads.follow_suggestions))


def _get_followers(env: CallEnv, call: DirectCall) -> CallOutcome:
    with env.session() as session:
        return CallOutcome(sorted(platform_queries.followers(session, [call.agent.agent_id]).get(
            call.agent.agent_id, set())))


def _get_timeline(env: CallEnv, call: DirectCall) -> CallOutcome:
    with env.session() as session:
        return CallOutcome(list(platform_queries.timelines(session, [call.agent.agent_id],
                                                           call.arguments["limit"]).get(call.agent.agent_id, [])))


def _churn_system(env: CallEnv, call: DirectCall) -> CallOutcome:
    # Y Social's `/churn` answers {"removed": {user id: null}}; the agent leaves after this tick.
    return CallOutcome({"removed": [call.agent.agent_id]},
                       BatchResult(intents=[LeaveIntent(call.agent.agent_id, call.index)]))


# --- LLM functions -------------------------------------------------------------------------------------
async def _post_content(env: CallEnv, call: DirectCall) -> CallOutcome:
    reads, _ = env.reads(call, ("POST",))
    runner = env.runner(call, reads)
    await runner.perform(call.index, "POST")
    return CallOutcome(result=runner.result, returns=NEW_POST)


async def _comment_on_post(env: CallEnv, call: DirectCall) -> CallOutcome:
    post_id, index = call.arguments["post_id"], call.index
    view, reads = env.post_reads(call, post_id, call.arguments["max_length_threads"], opinions=True)
    runner = env.runner(call, reads)
    comment = await runner.comment_on_post(index, view)
    if comment is None:
        runner.record(index, "COMMENT", "unparseable", "no usable comment text")
    else:  # the seed: the comment, the thread's topics into the agent's interests, then opinions
        runner.result.intents += [comment, InterestIntent(call.agent.agent_id, index, post_id=post_id)]
        await runner.update_opinions(index, view)
        runner.record(index, "COMMENT", "done", f"post {post_id}")
    return CallOutcome(result=runner.result, returns=NEW_POST)


async def _share_post(env: CallEnv, call: DirectCall) -> CallOutcome:
    view, reads = env.post_reads(call, call.arguments["post_id"])
    runner = env.runner(call, reads)
    if view.article is None:  # the seed returns when the post carries no article
        runner.record(call.index, "SHARE", "no_target", f"post {view.post_id} carries no news article")
    else:
        await runner.perform(call.index, "SHARE", post=view)
    return CallOutcome(result=runner.result, returns=NEW_POST)


async def _reaction_to_post(env: CallEnv, call: DirectCall) -> CallOutcome:
    view, reads = env.post_reads(call, call.arguments["post_id"], followees=True)
    runner, index = env.runner(call, reads), call.index
    reaction = await runner.reaction_to_post(index, view)
    if reaction is None:
        runner.record(index, "READ", "unparseable", f"no reaction to post {view.post_id}")
        return CallOutcome(None, runner.result)
    detail = f"{reaction} post {view.post_id}"
    if reaction == "dislike" or call.arguments["check_follow"]:  # the seed asks about unfollows always
        follow = await runner.secondary_follow(index, view, reaction)
        if follow is not None:
            detail += f", {follow.action} agent {follow.target_id}"
    runner.record(index, "READ", "done", detail)
    return CallOutcome(reaction, runner.result)


async def _evaluate_follow(env: CallEnv, call: DirectCall) -> CallOutcome:
    a = call.arguments
    view, reads = env.post_reads(call, a["post_id"])
    if a["post_text"] is not None:
        view = dataclasses.replace(view, text=str(a["post_text"]))
    runner = env.runner(call, reads)
    chance = call.agent.probability_of_secondary_follow
    if chance <= 0 or runner.rng.random() > chance:  # the seed asks only with that probability
        return CallOutcome(None)
    follow = await runner.evaluate_follow(call.index, view, a["action"])
    return CallOutcome(a["action"] if follow is not None else None, runner.result, returns=IF_ACCEPTED)


async def _select_action_llm(env: CallEnv, call: DirectCall) -> CallOutcome:
    actions = list(call.arguments["actions"])
    thread = call.arguments["max_length_thread_reading"]
    reads, served = env.reads(call, tuple(actions), thread)
    runner = env.runner(call, reads, thread_length=thread)
    chosen = await runner.choose(call.index, actions)
    if chosen is None:
        runner.record(call.index, "?", "unparseable", "the action choice named no candidate")
    elif chosen == NONE_ACTION:
        runner.record(call.index, chosen, "none")
    else:
        await runner.perform(call.index, chosen)
    return CallOutcome(chosen, runner.result, served)


async def _emotion_annotation(env: CallEnv, call: DirectCall) -> CallOutcome:
    # Asked for explicitly, the labels are annotated whatever the agent's `annotate_emotions`.
    runner = env.runner(call, AgentReads(), agent=dataclasses.replace(call.agent, annotate_emotions=True))
    labels = await runner.emotion_annotation(call.index, str(call.arguments["text_to_annotate"]))
    return CallOutcome(list(labels), runner.result)


async def _cast_vote(env: CallEnv, call: DirectCall) -> CallOutcome:
    view, reads = env.post_reads(call, call.arguments["post_id"])
    runner = env.runner(call, reads)
    await runner.perform(call.index, "CAST", post=view)
    votes = [i.preference for i in runner.result.intents if hasattr(i, "preference")]
    return CallOutcome(votes[0] if votes else None, runner.result, returns=IF_ACCEPTED)


async def _update_opinions(env: CallEnv, call: DirectCall) -> CallOutcome:
    view, reads = env.post_reads(call, call.arguments["post_id"], opinions=True)
    runner = env.runner(call, reads)
    changed = await runner.update_opinions(call.index, view)
    return CallOutcome({i.topic: i.opinion for i in changed}, runner.result)


async def _news_post(env: CallEnv, call: DirectCall) -> CallOutcome:
    reads, _ = env.reads(call, ("NEWS",))
    runner = env.runner(call, reads)
    await runner.perform(call.index, "NEWS")
    return CallOutcome(result=runner.result, returns=NEW_POST)


CPU_IMPLEMENTATIONS: dict[str, Callable[[CallEnv, DirectCall], CallOutcome]] = {
    "get_user_from_post": _get_user_from_post, "get_article": _get_article, "get_post": _get_post,
    "get_thread": _get_thread, "get_interests": _get_interests, "get_opinions": _get_opinions,
    "update_user_interests": _update_user_interests, "follow_action": _follow_action, "read_posts": _read_posts,
    "read_mentions": _read_mentions, "search_posts": _search_posts,
    "search_follow_suggestions": _search_follow_suggestions, "get_followers": _get_followers,
    "get_timeline": _get_timeline, "churn_system": _churn_system,
    **{name: _pure for name in PURE}}
LLM_IMPLEMENTATIONS: dict[str, Callable[[CallEnv, DirectCall], Awaitable[CallOutcome]]] = {
    "post_content": _post_content, "comment_on_post": _comment_on_post, "share_post": _share_post,
    "reaction_to_post": _reaction_to_post, "evaluate_follow": _evaluate_follow,
    "select_action_llm": _select_action_llm, "emotion_annotation": _emotion_annotation, "cast_vote": _cast_vote,
    "update_opinions": _update_opinions, "news_post": _news_post}
SELECTABLE_ACTIONS = (*ACTIONS, NONE_ACTION)


async def compute(env: CallEnv | None, call: DirectCall) -> CallOutcome:
    """What `call` does, computed without writing (pure functions need no `env`)."""
    if call.function in LLM_IMPLEMENTATIONS:
        return await LLM_IMPLEMENTATIONS[call.function](env, call)
    return CPU_IMPLEMENTATIONS[call.function](env, call)
