"""The seed's Ray example on ysim: agents as data, functions in parallel on Ray, the wrapper.

    python examples/ray_parallel_example.py                      # the embedded demo model
    python examples/ray_parallel_example.py --llm-url http://127.0.0.1:8000/v1 --agents 200

It shows six things: (1) creating agents, (2) converting a Y Social agent, (3) CPU functions in
parallel, (4) LLM functions in parallel, (5) the `wrap_agent_data` interface, and (6) a timing
of the same LLM work one agent at a time versus in parallel batches.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from agent_models import BatchResult, RunConfig, agent_to_data, create_agent_data, generate_population
from db import session_factory, write_results
from flows.ray_integration import execute_parallel_cpu, execute_parallel_gpu, init_ray, last_outcome, shutdown_ray
from flows.services import llm_endpoint
from tasks import TickContext, get_post, open_platform, wrap_agent_data


class YSocialAgent:
    """Stands in for a Y Social `Agent` object (y_client.classes.base_agent.Agent) built by a script."""

    def __init__(self, name: str, email: str, **persona: Any) -> None:
        self.name, self.email = name, email
        self.__dict__.update(persona)


def main(llm_url: str | None = None, n_agents: int = 20, db_url: str | None = None) -> dict[str, float]:
    db_url = db_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'ray_example.db'}"
    config = RunConfig.model_validate({"database": {"url": db_url}, "llm": {"url": llm_url},
                                       "ray": {"batch_size": 10}})
    with llm_endpoint(config) as config:
        platform = open_platform(config)

        # 1. Agents are data: made from the configuration's pools, seeded.
        agents = [platform.register(a) for a in generate_population(config, n_agents, seed=1)]
        ada = platform.register(create_agent_data("ada", "ada@example.org", config, age=31, interests=["climate"]))
        print(f"1. {len(agents)} generated agents and {ada.name}, {ada.age}, interested in {ada.interests}")

        # 2. A Y Social agent object converts to the matching dataclass.
        legacy = YSocialAgent("bob", "bob@example.org", age=45, leaning="Independent", interests=["music"],
                              oe="inventive/curious", type=config.llm.model)
        bob = platform.register(agent_to_data(legacy))
        print(f"2. converted a Y Social agent: {type(bob).__name__}({bob.name}, {bob.leaning})")

        init_ray(config=config)

        # 3. CPU functions in parallel: each agent's current interests and its follow suggestions.
        interests = execute_parallel_cpu("get_interests", agents)
        suggestions = execute_parallel_cpu("search_follow_suggestions", agents)
        print(f"3. interests of the first agent: {interests[0]}; suggestions for it: {len(suggestions[0])}")

        # 4. LLM functions in parallel: a post per agent, written to the database afterwards.
        posts = execute_parallel_gpu("post_content", agents)
        with session_factory(db_url).begin() as session:
            write_results(session, run_id=platform.run_id, tick=0, visible_through=0,
                          result=BatchResult(intents=[p for p in posts if p is not None]))
        print(f"4. {sum(p is not None for p in posts)} posts written; the first: {posts[0].text if posts[0] else None!r}")

        # 5. Y Social's Agent interface over the same functions.
        wrapped = wrap_agent_data(ada)
        feed = wrapped.read(tid=1)
        print(f"5. {wrapped.name} reads {len(feed)} posts and chooses "
              f"{wrapped.select_action(tid=1, actions=['COMMENT', 'READ', 'NONE'])}")

        # 6. The same LLM work, one agent at a time versus in parallel batches.
        post = _first_post(platform)
        started = time.perf_counter()
        for agent in agents:
            execute_parallel_gpu("reaction_to_post", [(agent, post)])
        sequential = time.perf_counter() - started
        started = time.perf_counter()
        execute_parallel_gpu("reaction_to_post", [(agent, post) for agent in agents])
        parallel = time.perf_counter() - started
        calls = len(last_outcome().result.llm_calls)
        print(f"6. {len(agents)} reactions: {sequential:.2f} s one at a time, {parallel:.2f} s in parallel "
              f"({sequential / parallel:.1f}x; {calls} LLM calls)")
        shutdown_ray()
        return {"sequential_s": sequential, "parallel_s": parallel, "llm_calls": calls}


def _first_post(platform: Any) -> Any:
    """The platform's first post, as an agent reads it."""
    return get_post.fn(TickContext(platform.run_id, 1, platform.config), [1])[1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-url", help="OpenAI-compatible base URL (default: the embedded demo model)")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    options = parser.parse_args()
    main(options.llm_url, options.agents, options.db)
