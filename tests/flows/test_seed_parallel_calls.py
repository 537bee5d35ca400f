"""All 29 agent functions, called the seed's way one by one and through `execute_parallel_*`.

For every function the same calls run twice on the same starting platform: as a direct loop
(`[fn(*item, *args, **kwargs) for item in items]`, each call written at once) and as one
`execute_parallel_cpu/gpu(name, items, *args, **kwargs)` on the session's Ray. Both must return
equal results (one per item, in input order) and leave equal databases (every table of
`tests.dumps`, ids included), on SQLite and PostgreSQL, against the stub LLM. Items mix the
shapes the seed's API takes: agents, post ids, (agent, post id) pairs, texts, and repeated agents.
"""

from __future__ import annotations

import dataclasses

import pytest

import tasks
from agent_models import BatchResult, PostIntent
from agent_models.intents import ArticleRef
from db import session_factory, write_results
from flows import ray_integration
from flows.ray_integration import execute_parallel_cpu, execute_parallel_gpu
from tasks import direct_calls, open_platform, platform_env
from tests.conftest import reset_postgres
from tests.dumps import dump
from tests.tasks.platform_fixture import small_platform

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Daily</title>
<item><title>Wind farms break output record</title><link>https://news.example/wind</link>
<description>Offshore wind supplied a record share.</description></item></channel></rss>"""

# What the stub answers, whatever the prompt around it: so that a call that reads another call's
# comment (one by one) and one that does not (in parallel) get the same answer.
SCRIPT = [("Write one short post", "Seed posts #seeds"), ("conversation", "Agreed, @ada #seeds")]


def _platform(db_url: str, llm_url: str, tmp_path) -> dict:
    """The small platform plus a news post carrying an article, opinions and a page with a feed."""
    feed = tmp_path / "daily.xml"
    feed.write_text(RSS)
    platform = small_platform(db_url, llm_url, emotions=("joy", "anger"), annotate_emotions=True,
                              probability_of_secondary_follow=1.0, opinions={"housing": 0.4},
                              opinion_dynamics={"enabled": True, "model_name": "bounded_confidence",
                                                "parameters": {"epsilon": 0.5, "mu": 0.5}})
    agents = platform.agents
    article = ArticleRef("Wind farms break output record", "Offshore wind supplied a record share.",
                         "https://news.example/wind", "daily", str(feed), "left")
    with session_factory(db_url).begin() as session:
        written = write_results(session, run_id=platform.run_id, tick=0, visible_through=0, result=BatchResult(
            intents=[PostIntent(agents["daily"].agent_id, 0, "Wind record #energy", ("housing",), ("#energy",),
                                article=article)]))
    config = platform.config.model_copy(update={"ray": platform.config.ray.model_copy(update={"batch_size": 2})})
    open_platform(config)
    from db.models import AgentRow

    with session_factory(db_url).begin() as session:  # the page reads its feed from the local file
        session.get(AgentRow, agents["daily"].agent_id).feed_url = str(feed)
    daily = dataclasses.replace(agents["daily"], feed_url=str(feed))
    return {**agents, "daily": daily, "post": platform.first_post, "news": written.new_post_ids[0]}


def _cases(p: dict) -> dict[str, tuple[list, tuple, dict]]:
    ada, bob, cy, eve, daily, post, news = (p[k] for k in ("ada", "bob", "cy", "eve", "daily", "post", "news"))
    return {
        "extract_components": (["#a1 @b", "no tags", "#c2 #d3 @e"], ("hashtags",), {}),
        "clean_text": (["## Hello - world", "ok", "[fine] @ada said"], ("ada",), {}),
        "clean_emotion": (["joy, anger", "nothing", "'fear' joy"], (["joy", "anger", "fear"],), {}),
        "render_prompt": ([("Hi {self.name}, {x}", ada), ("{self.age}", bob)], (), {"x": 1}),
        "get_user_from_post": ([post, (ada, news), post], (), {}),
        "get_article": ([news, post, (bob, news)], (), {}),
        "get_post": ([post, (cy, news), post], (), {}),
        "get_thread": ([(ada, post), (bob, news)], (), {"max_tweets": 3}),
        "get_interests": ([ada, bob, ada], (), {"tid": 1}),
        "get_opinions": ([ada, bob, ada], (), {}),
        "update_user_interests": ([(bob, post), (cy, news), (bob, news)], (), {"tid": 1}),
        "follow_action": ([(bob, 1, ada.agent_id), (cy, 1, None, post), (eve, 1, ada.agent_id, None, "unfollow")],
                          (), {}),
        "read_posts": ([ada, bob, cy, bob], (), {}),
        "read_mentions": ([bob, cy, bob], (), {}),
        "search_posts": ([ada, bob], (), {}),
        "search_follow_suggestions": ([bob, cy], (), {}),
        "get_followers": ([ada, bob], (), {}),
        "get_timeline": ([ada, daily, bob], (), {}),
        "churn_system": ([cy, eve], (), {"tid": 2}),
        "post_content": ([ada, bob, cy, eve], (), {"tid": 1}),
        "comment_on_post": ([(bob, post), (cy, post), (eve, news)], (), {"tid": 1}),
        "share_post": ([(bob, news), (cy, post), (eve, news)], (), {"tid": 1}),
        "reaction_to_post": ([(bob, post), (cy, post), (bob, news)], (), {"tid": 1}),
        "evaluate_follow": ([(bob, None, post, "follow"), (cy, "Rents!", post, "follow")], (), {"tid": 1}),
        "select_action_llm": ([ada, bob, eve], (), {"tid": 1, "actions": ["READ", "CAST", "NONE"]}),
        "emotion_annotation": ([(ada, "I love it"), (bob, "so sad"), (ada, "again")], (), {}),
        "cast_vote": ([(ada, post), (bob, news), (ada, news)], (), {"tid": 1}),
        "update_opinions": ([(bob, post), (cy, post)], (), {"tid": 1}),
        "news_post": ([daily], (), {"tid": 1}),
    }


# Functions whose calls change the platform (the rest read it, or are pure); read_posts logs the
# feeds it served, the LLM functions their calls.
WRITERS = {"update_user_interests", "follow_action", "read_posts", "churn_system", "post_content", "comment_on_post",
           "share_post", "reaction_to_post", "evaluate_follow", "select_action_llm", "emotion_annotation",
           "cast_vote", "update_opinions", "news_post"}


def _fresh(db_url: str, tmp_path, n: int) -> str:
    """An empty database of the same kind as `db_url` (PostgreSQL: the same one, emptied)."""
    platform_env._default = None
    direct_calls._issued.clear()  # round numbering starts afresh with the database
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'run{n}.db'}"
    reset_postgres(db_url)
    return db_url


def _direct(name: str, items: list, args: tuple, kwargs: dict) -> list:
    function = getattr(tasks, name)
    return [function(*(item if isinstance(item, tuple) else (item,)), *args, **kwargs) for item in items]


def _parallel(name: str, items: list, args: tuple, kwargs: dict) -> list:
    run = execute_parallel_gpu if name in tasks.GPU_FUNCTIONS else execute_parallel_cpu
    return run(name, items, *args, **kwargs)


def test_the_cases_cover_all_29_functions():
    names = set(tasks.CPU_FUNCTIONS) | set(tasks.GPU_FUNCTIONS)
    assert len(names) == 29 and names == set(_CASE_NAMES)


_CASE_NAMES = ("extract_components", "clean_text", "clean_emotion", "render_prompt", "get_user_from_post",
               "get_article", "get_post", "get_thread", "get_interests", "get_opinions", "update_user_interests",
               "follow_action", "read_posts", "read_mentions", "search_posts", "search_follow_suggestions",
               "get_followers", "get_timeline", "churn_system", "post_content", "comment_on_post", "share_post",
               "reaction_to_post", "evaluate_follow", "select_action_llm", "emotion_annotation", "cast_vote",
               "update_opinions", "news_post")


@pytest.mark.parametrize("name", _CASE_NAMES)
def test_direct_loop_and_parallel_give_equal_results_and_databases(name, db_url, llm_stub, ray_session, tmp_path):
    llm_stub.state.script = SCRIPT
    ray_integration.init_ray()
    first = _platform(_fresh(db_url, tmp_path, 1), llm_stub.url, tmp_path)
    items, args, kwargs = _cases(first)[name]
    before = dump(platform_env.default_platform().db_url)
    direct = _direct(name, items, args, kwargs)
    direct_db = dump(platform_env.default_platform().db_url)
    assert (direct_db != before) == (name in WRITERS)  # the calls acted on the platform, or only read it
    asked = len(llm_stub.state.requests)

    second = _platform(_fresh(db_url, tmp_path, 2), llm_stub.url, tmp_path)
    items, args, kwargs = _cases(second)[name]
    parallel = _parallel(name, items, args, kwargs)

    assert len(parallel) == len(items)
    assert parallel == direct
    assert dump(platform_env.default_platform().db_url) == direct_db
    assert len(llm_stub.state.requests) == 2 * asked  # the parallel call asked what the loop asked
