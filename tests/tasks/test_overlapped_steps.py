"""Issue 22, items 2 and 5: an agent's steps overlap (the next round starts while the LLM still
writes the previous round's post or comment) and give exactly what steps one after another give.

Both modes run the same batch of the small platform (tests/tasks/platform_fixture.py: three LLM
agents, one of them with a mention to answer, a rule-based agent and a page) against the stub
LLM, each on a database of its own so that no answer comes from the other's cache; the real
`openai` client asks the stub, whose answers depend only on the request.
"""

from __future__ import annotations

import asyncio
import dataclasses

from agent_models import AgentTurn
from tasks.agent_actions import act_batch
from tasks.platform import read_batch
from tests.tasks.platform_fixture import small_platform

# Rounds that use every kind of step: replies (bob was mentioned), choices, posts, comments,
# searches, reads (with the follow question) and nothing.
LLM_ROUNDS = (("POST", "COMMENT", "READ"), ("READ", "SEARCH", "NONE"), ("COMMENT", "POST"), ("READ",), ("POST",),
              ("COMMENT", "READ", "NONE"))
LLM_CALL_FIELDS = ("agent_id", "round_index", "function", "model", "prompt_tokens", "completion_tokens", "outcome",
                   "error", "cache_key", "response")  # all but the measured times


def _act(db_url: str, llm_url: str, rounds_by_name: dict[str, tuple[tuple[str, ...], ...]], overlap: bool):
    platform = small_platform(db_url, llm_url, annotate_emotions=True, emotions=("joy", "anger", "fear"))
    ctx = platform.ctx(tick=1)
    turns = [AgentTurn(platform.agents[name], rounds) for name, rounds in rounds_by_name.items()]
    return asyncio.run(act_batch(ctx, turns, read_batch(ctx, turns), overlap=overlap))


def _calls(result):
    return [tuple(getattr(call, name) for name in LLM_CALL_FIELDS) for call in result.llm_calls]


def test_overlapped_steps_give_what_steps_in_order_give(tmp_path, llm_stub):
    llm_stub.state.latency_s = 0.02
    rounds = {"ada": LLM_ROUNDS, "bob": LLM_ROUNDS[::-1], "cy": LLM_ROUNDS[1:], "eve": LLM_ROUNDS,
              "daily": (("NEWS",),)}
    in_order = _act(f"sqlite:///{tmp_path / 'in_order.db'}", llm_stub.url, rounds, overlap=False)
    overlapped = _act(f"sqlite:///{tmp_path / 'overlapped.db'}", llm_stub.url, rounds, overlap=True)

    assert overlapped.intents == in_order.intents
    assert overlapped.actions == in_order.actions
    assert _calls(overlapped) == _calls(in_order)
    # The run exercised what can differ: a reply, follow questions, posts and comments of LLM agents.
    done = {(a.action, a.status) for a in in_order.actions}
    assert ("REPLY", "done") in done and ("POST", "done") in done and ("COMMENT", "done") in done
    assert {c.function for c in in_order.llm_calls} >= {"select_action_llm", "post_content", "comment_on_post",
                                                         "reaction_to_post", "emotion_annotation"}


def test_an_agents_next_round_starts_while_its_post_is_still_being_written(tmp_path, llm_stub):
    llm_stub.state.latency_s = 0.05
    three_posts = {"ada": (("POST",), ("POST",), ("POST",))}

    _act(f"sqlite:///{tmp_path / 'in_order.db'}", llm_stub.url, three_posts, overlap=False)
    assert llm_stub.state.max_in_flight == 1  # one agent, steps in order: one request at a time

    llm_stub.state.max_in_flight = 0
    result = _act(f"sqlite:///{tmp_path / 'overlapped.db'}", llm_stub.url, three_posts, overlap=True)
    assert llm_stub.state.max_in_flight >= 2  # a choice asked while a post was being written
    assert [a.action for a in result.actions] == ["POST", "POST", "POST"]
    assert [c.round_index for c in result.llm_calls] == sorted(c.round_index for c in result.llm_calls)


def test_an_agent_with_opinion_dynamics_plays_its_rounds_in_order(tmp_path, llm_stub):
    """Its opinions change after the LLM answers and later prompts show them: nothing overlaps."""
    llm_stub.state.latency_s = 0.05
    platform = small_platform(f"sqlite:///{tmp_path / 'opinions.db'}", llm_stub.url)
    ada = dataclasses.replace(platform.agents["ada"], opinions={"housing": 0.2},
                              opinion_dynamics={"enabled": True, "model_name": "bounded_confidence",
                                                "parameters": {"epsilon": 0.5, "mu": 0.5}})
    ctx = platform.ctx(tick=1)
    turns = [AgentTurn(ada, (("POST",), ("POST",), ("POST",)))]
    result = asyncio.run(act_batch(ctx, turns, read_batch(ctx, turns), overlap=True))
    assert llm_stub.state.max_in_flight == 1
    assert [a.action for a in result.actions] == ["POST", "POST", "POST"]
