"""Issue 25's fidelity check: with memory on, an agent's prompts carry the memories the rules say
(agent_models.memory: decay, reinforcement, forgetting, budget), through the real LLM functions and
the `openai` client against the stub; and a seeded run with memory is reproducible.

Memories are formed by the real tick writer from rows written at earlier ticks; the expected block
is computed with the pure rules from the stored memories, and compared with what the stub received.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import select

from agent_models import BatchResult, CommentIntent, PostIntent, ReactionIntent, rng_for
from agent_models.intents import RecallIntent
from agent_models.memory import MemorySettings, recall, strength
from db import session_factory, write_tick
from db.memory_store import memories_of
from db.models import MemoryRecallRow
from tasks import post_content
from tasks.context import AgentReads, BatchReads
from tests.table_dumps import dump_all
from tests.tasks.platform_fixture import run_tick_inline, small_platform


def with_memory(platform, **settings):
    memory = MemorySettings(enabled=True, **settings)
    return dataclasses.replace(platform, config=platform.config.model_copy(update={"memory": memory}))


def write(platform, tick: int, *intents) -> None:
    with session_factory(platform.config.database.url).begin() as session:
        write_tick(session, run_id=platform.run_id, tick=tick, active_agents=1, result=BatchResult(intents=list(intents)),
                   memory=platform.config.memory)


def ada_posts(platform, tick: int, llm_stub):
    """ada writes a post at `tick` with what she remembers; (the stub's user message, the outcome,
    her memories as read)."""
    ada = platform.agents["ada"]
    with session_factory(platform.config.database.url).begin() as session:
        held = memories_of(session, platform.run_id, [ada.agent_id]).get(ada.agent_id, [])
    reads = BatchReads(by_agent={ada.agent_id: AgentReads(memories=held)})
    llm_stub.state.script = [("Write one short post", "Still about rent #housing")]
    outcome = asyncio.run(post_content.fn(platform.ctx(tick), [ada], {ada.agent_id: ("housing", "rent")}, reads))
    return llm_stub.state.requests[-1]["messages"][-1]["content"], outcome, held


def expected_block(platform, held, tick: int) -> str:
    ada = platform.agents["ada"]
    picked = recall(held, tick, "housing rent", platform.config.memory,
                    rng_for(platform.config.simulation.seed, tick, ada.agent_id, "memory-0"))
    return picked.block()


@pytest.fixture
def platform(sqlite_url, llm_stub):
    return with_memory(small_platform(sqlite_url, llm_stub.url))


def test_a_prompt_carries_the_memories_the_rules_pick_and_records_their_recall(platform, llm_stub):
    ada, bob, cy = (platform.agents[n] for n in ("ada", "bob", "cy"))
    write(platform, 1, CommentIntent(bob.agent_id, 0, platform.first_post, "rent is theft"))
    write(platform, 2, ReactionIntent(cy.agent_id, 0, platform.first_post, "like"))
    message, outcome, held = ada_posts(platform, 4, llm_stub)
    block = expected_block(platform, held, 4)
    # The reply first: it shares both "rent" and its topic "housing" with the prompt, and is stronger.
    assert block == ("Things you remember (most relevant first):\n"
                     "- (3 hours ago) @bob replied to your post: rent is theft\n"
                     "- (2 hours ago) @cy liked your post: Rents are up again #housing @bob")
    assert message.startswith(block + "\n\nWrite one short post")
    recalled = [i for i in outcome.result.intents if isinstance(i, RecallIntent)]
    assert recalled == [RecallIntent(ada.agent_id, 0, recall(
        held, 4, "housing rent", platform.config.memory,
        rng_for(platform.config.simulation.seed, 4, ada.agent_id, "memory-0")).memory_ids)] and len(held) == 2
    # The apply phase writes the recall with the tick; from the next tick it reinforces.
    write(platform, 4, *recalled)
    with session_factory(platform.config.database.url).begin() as session:
        assert session.execute(select(MemoryRecallRow.memory_id, MemoryRecallRow.tick)).all() == \
            [(m, 4) for m in sorted(recalled[0].memory_ids)]
        again = memories_of(session, platform.run_id, [ada.agent_id])[ada.agent_id]
    for before, after in zip(held, again, strict=True):
        assert strength(after, 5, platform.config.memory) == pytest.approx(
            min(1.0, strength(before, 4, platform.config.memory) + 0.2) * (
                strength(before, 5, platform.config.memory) / strength(before, 4, platform.config.memory)))


def test_decay_forgetting_and_the_budget_shape_the_prompt(sqlite_url, llm_stub):
    # Social memories fade fast: bob's reply (0.45) is forgotten after ln(0.45 / 0.05) / 0.5 = 4.4 ticks.
    platform = with_memory(small_platform(sqlite_url, llm_stub.url), social_decay_lambda=0.5, prompt_max_chars=200)
    bob = platform.agents["bob"]
    write(platform, 1, CommentIntent(bob.agent_id, 0, platform.first_post, "rent is theft"))
    write(platform, 2, PostIntent(platform.agents["ada"].agent_id, 0, "x" * 150 + " housing", ("housing",)))
    early, _, held = ada_posts(platform, 3, llm_stub)
    assert "@bob replied to your post" in early and early.startswith(expected_block(platform, held, 3))
    late, outcome, held = ada_posts(platform, 7, llm_stub)  # 6 ticks on: 0.45 e^-3 = 0.022, forgotten
    assert "@bob" not in late.split("Write one short post")[0]
    block = expected_block(platform, held, 7)
    assert block and late.startswith(block) and sum(len(line) for line in block.splitlines()[1:]) <= 200


def test_a_ysocial_prompt_without_the_slot_gets_the_block_where_its_client_puts_it(sqlite_url, llm_stub):
    base = small_platform(sqlite_url, llm_stub.url)
    config = base.config.model_copy(update={"prompts": {"handler_post": "Write one short post about {', '.join(interest)}."},
                                            "memory": MemorySettings(enabled=True)})
    platform = dataclasses.replace(base, config=config)
    write(platform, 1, CommentIntent(platform.agents["bob"].agent_id, 0, platform.first_post, "rent is theft"))
    message, _, held = ada_posts(platform, 2, llm_stub)
    assert message == ("Write one short post about housing, rent.\n\n##MEMORY CONTEXT##\n"
                       f"{expected_block(platform, held, 2)}\n##END MEMORY CONTEXT##")


def test_memory_off_leaves_every_prompt_as_it_was(sqlite_url, llm_stub):
    platform = small_platform(sqlite_url, llm_stub.url)  # memory off: nothing formed, nothing recalled
    write(platform, 1, CommentIntent(platform.agents["bob"].agent_id, 0, platform.first_post, "rent is theft"))
    message, outcome, held = ada_posts(platform, 2, llm_stub)
    assert held == [] and message.startswith("Write one short post (under 280 characters)")
    assert not any(isinstance(i, RecallIntent) for i in outcome.result.intents)


def test_a_seeded_run_with_memory_is_reproducible(tmp_path, llm_stub):
    """Two runs of the same seed, tick by tick through the real phases: the same memories, recalls
    and prompts; and memories did reach prompts."""
    dumps, prompts = [], []
    for name in ("a", "b"):
        platform = with_memory(small_platform(f"sqlite:///{tmp_path / name}.db", llm_stub.url))
        config = platform.config.model_copy(update={"simulation": platform.config.simulation.model_copy(
            update={"hourly_activity": {h: 1.0 for h in range(24)}})})
        start = len(llm_stub.state.requests)
        for tick in range(1, 6):
            run_tick_inline(config, platform.run_id, tick)
        dumps.append({k: v for k, v in dump_all(config.database.url).items() if k != "runs"})
        prompts.append(sorted(r["messages"][-1]["content"] for r in llm_stub.state.requests[start:]))
    assert dumps[0] == dumps[1] and prompts[0] == prompts[1]
    assert dumps[0]["memories"] and dumps[0]["memory_recalls"]
    assert any("Things you remember" in p for p in prompts[0])
