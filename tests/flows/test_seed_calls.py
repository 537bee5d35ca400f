"""The seed's code as written: single-agent calls on the environment's platform, bad input, the
wrapper with Ray and no set-up, and each agent's own LLM server."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from agent_models import AgentData
from db import session_factory, write_tick
from db.models import LLMCallRow, PostRow, RecommendationRow
from flows.ray_integration import execute_parallel_gpu
from tasks import (
    AgentCallError, comment_on_post, extract_components, platform_env, post_content, reaction_to_post, wrap_agent_data,
)
from tests.dumps import dump
from tests.llm_stub import LLMStub


@pytest.fixture
def environment(tmp_path, llm_stub, monkeypatch):
    """The environment a seed script runs in: YSIM_DB and the stub as YSIM_LLM_URL, no platform opened."""
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    monkeypatch.setenv("YSIM_DB", url)
    monkeypatch.setenv("YSIM_LLM_URL", llm_stub.url)
    monkeypatch.setenv("YSIM_LLM_MODEL", "stub-model")
    platform_env._default = None
    yield url
    platform_env._default = None


def _posts(url: str) -> list[tuple]:
    with session_factory(url).begin() as session:
        return [tuple(r) for r in session.execute(select(PostRow.id, PostRow.author_id, PostRow.comment_to,
                                                         PostRow.tick).order_by(PostRow.id))]


def test_the_quick_start_runs_as_written(environment, llm_stub):
    # The seed's "After" code, imports changed: agents registered on first use, tid is the tick.
    agent_data = AgentData(name="user1", email="user1@example.com", base_url="http://localhost:5000")
    post_id = post_content(agent_data, tid=1)
    assert agent_data.agent_id is not None
    other = AgentData(name="user2", email="user2@example.com")
    comment_id = comment_on_post(other, post_id=post_id, tid=1)
    assert _posts(environment) == [(post_id, agent_data.agent_id, None, 1), (comment_id, other.agent_id, post_id, 1)]
    assert reaction_to_post(other, post_id=post_id, tid=1) in ("like", "dislike", "neutral")
    with session_factory(environment).begin() as session:
        functions = [f for f, in session.execute(select(LLMCallRow.function).order_by(LLMCallRow.id))]
    assert functions == ["post_content", "comment_on_post", "reaction_to_post"]
    assert all(r["model"] == "stub-model" for r in llm_stub.state.requests)


def test_bad_input_raises_one_clear_error_and_writes_nothing(environment, llm_stub):
    ada = AgentData(name="ada", email="ada@x")
    post_id = post_content(ada, tid=2)
    with session_factory(environment).begin() as session:  # ticks 0 and 1 committed by a run
        for tick in (0, 1):
            write_tick(session, run_id=platform_env.default_platform().run_id, tick=tick, active_agents=0,
                       result=__import__("agent_models").BatchResult())
    before, asked = dump(environment), len(llm_stub.state.requests)
    stranger = AgentData(name="zed", email="z@x", agent_id=999)
    newcomer = AgentData(name="new", email="n@x")
    cases = [
        (lambda: execute_parallel_gpu("dance", [ada]), "function_name: 'dance' is not one of"),
        (lambda: comment_on_post(ada, post_id=4242, tid=2), "post_id: 4242 is not a post of run 1"),
        (lambda: post_content(stranger, tid=2), "agent_data: agent 999 ('zed') is not an agent of run 1"),
        (lambda: post_content(ada), "missing a required argument: 'tid'"),
        (lambda: post_content(ada, tid=1), "tid: 1 is behind run 1's committed ticks"),
        (lambda: post_content(ada, tid="soon"), "tid: 'soon' must be an integer >= 0"),
        (lambda: comment_on_post(ada, None, 2), "post_id: None must be the id of a post"),
        (lambda: extract_components(42, "hashtags"), "extract_components: text: 42 must be a string"),
        (lambda: extract_components("#a", "topics"), "c_type: 'topics' is not one of hashtags, mentions"),
        (lambda: execute_parallel_gpu("select_action_llm", [ada], tid=2, actions=["DANCE"]),
         "actions: ['DANCE'] must be a non-empty list of"),
        (lambda: post_content("ada", tid=2), "agent_data: 'ada' is not an AgentData"),
        # one bad item among good ones: nothing of the others is written, the newcomer not registered
        (lambda: execute_parallel_gpu("comment_on_post", [(newcomer, post_id), (ada, 4242)], tid=2),
         "post_id: 4242 is not a post of run 1"),
    ]
    for call, message in cases:
        with pytest.raises(AgentCallError, match=re.escape(message)):
            call()
    assert dump(environment) == before
    assert newcomer.agent_id is None and len(llm_stub.state.requests) == asked


def test_the_wrapper_with_ray_needs_no_set_up_and_logs_every_feed(environment, llm_stub, ray_session):
    llm_stub.state.script = [("What do you do next", "READ")]
    author = AgentData(name="author", email="a@x")
    post_content(author, tid=0)
    reader = wrap_agent_data(AgentData(name="reader", email="r@x"), use_ray=True)
    assert reader.select_action(tid=1, actions=["READ", "NONE"]) == "READ"
    reader.search(tid=1)
    with session_factory(environment).begin() as session:
        logged = [(r.agent_id, r.tick) for r in session.scalars(select(RecommendationRow))]
    assert logged == [(reader.agent_id, 1)]  # the feed select_action's READ was served


def test_each_agent_asks_its_own_llm_server(environment, llm_stub):
    with LLMStub() as own:
        mine = AgentData(name="mine", email="m@x", llm_base=own.url,
                         llm_config={"config_list": [{"model": "own-model", "api_key": "NULL"}], "temperature": 0.2})
        run_default = AgentData(name="theirs", email="t@x")
        assert post_content(mine, tid=0) is not None and post_content(run_default, tid=0) is not None
        assert [(r["model"], r["temperature"]) for r in own.state.requests] == [("own-model", 0.2)]
    assert [r["model"] for r in llm_stub.state.requests] == ["stub-model"]


def test_the_legacy_agent_class_registers_acts_and_converts(environment, llm_stub):
    from agent_models import PageAgentData, agent_to_data
    from tasks import Agent, PageAgent

    agent = Agent(name="user1", email="user1@example.com", age=25, interests=["climate"])
    post_id = agent.post(tid=1)
    assert agent.agent_id is not None and _posts(environment) == [(post_id, agent.agent_id, None, 1)]
    comment_id = Agent(name="user2", email="user2@example.com").comment(post_id=post_id, tid=1)
    assert _posts(environment)[-1][:3] == (comment_id, agent.agent_id + 1, post_id)
    data = agent_to_data(agent)
    assert type(data) is AgentData and (data.agent_id, data.age, data.interests) == (agent.agent_id, 25, ["climate"])
    page = PageAgent(name="daily", email="d@x", feed_url="feeds/daily.xml")
    assert type(agent_to_data(page)) is PageAgentData and page.is_page == 1
