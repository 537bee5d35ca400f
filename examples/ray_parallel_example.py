"""The seed's Ray example on ysim: its six parts, in its order, with its code lines.

    python examples/ray_parallel_example.py                      # the embedded demo model
    python examples/ray_parallel_example.py --llm-url http://127.0.0.1:8000/v1 --agents 200

Y Social PR #21 (docs/migrating.md) lists what its `examples/ray_parallel_example.py` covers:
1. Creating AgentData instances, 2. Converting legacy Agents, 3. Parallel CPU operations,
4. Parallel GPU operations, 5. Wrapper interface, 6. Performance comparisons. Each part below is
the seed's code with its imports changed (`y_client.classes.agent_data` -> `agent_models`,
`y_client.functions` -> `tasks`, `y_client.functions.ray_integration` -> `flows.ray_integration`),
and part 6 is the seed's "Step 4: Measure Performance" as written.

The platform the functions act on is a run in the database `--db` (default: a new temporary
SQLite file), asking the LLM server `--llm-url` (default: `YSIM_LLM_URL`, else the embedded demo
model). Every post and comment is written there; `main` returns what it made and the timing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from agent_models import AgentData, RunConfig, agent_to_data, create_agent_data
from flows.ray_integration import execute_parallel_cpu, execute_parallel_gpu, init_ray, shutdown_ray
from tasks import comment_on_post, open_platform, post_content, wrap_agent_data


class Agent:
    """Stands in for Y Social's `Agent` (`from y_client.classes import Agent`), which ysim does not
    have: an object with the attributes a Y Social agent has. `agent_to_data` reads any such
    object, a real Y Social agent included, by attribute."""

    def __init__(self, name: str, email: str, **attributes: Any) -> None:
        self.name, self.email = name, email
        self.__dict__.update(attributes)


def main(llm_url: str | None = None, n_agents: int = 10, db_url: str | None = None) -> dict[str, Any]:
    db_url = db_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'ray_example.db'}"
    config = RunConfig.model_validate({
        "database": {"url": db_url},
        "llm": {"url": llm_url or os.environ.get("YSIM_LLM_URL"), "model": os.environ.get("YSIM_LLM_MODEL", "")}})
    # What YSIM_DB / YSIM_LLM_URL would name: the platform every call below acts on (Y Social's server).
    platform = open_platform(config)

    # 1. Creating AgentData instances: the seed's constructor and its factory.
    agent_data = AgentData(
        name="user1",
        email="user1@example.com",
        base_url="http://localhost:5000",
        type="llama3",
        age=25,
    )
    agent_data_list = [agent_data] + [
        create_agent_data(name=f"user{i}", email=f"user{i}@example.com", config=config, age=20 + i, type="llama3")
        for i in range(2, n_agents + 1)]
    print(f"1. {len(agent_data_list)} AgentData: {agent_data.name}, {agent_data.age}, ...")

    # 2. Converting legacy Agents: a Y Social agent object to its dataclass.
    agent = Agent(name="user0", email="user0@example.com", age=45, leaning="Independent",
                  interests=["music"], oe="inventive/curious", type="llama3")
    legacy_data = agent_to_data(agent)
    legacy_post = post_content(legacy_data, tid=1)  # now use it with the new functions or Ray
    print(f"2. converted a Y Social agent: {type(legacy_data).__name__}({legacy_data.name}, {legacy_data.leaning}), "
          f"post {legacy_post}")

    # 3. Parallel CPU operations (the first call registers the agents, as Y Social's constructor does).
    init_ray(num_cpus=4, num_gpus=1)
    feeds = execute_parallel_cpu('read_posts', agent_data_list)
    interests = execute_parallel_cpu('get_interests', agent_data_list)
    print(f"3. {len(feeds)} feeds and {len(interests)} interest draws; {agent_data.name}'s: {interests[0]}")

    # 4. Parallel GPU operations: a post per agent, then each agent comments on the next one's post.
    results = execute_parallel_gpu('post_content', agent_data_list, tid=1)
    pairs = [(a, results[(i + 1) % len(results)]) for i, a in enumerate(agent_data_list)]
    comments = execute_parallel_gpu('comment_on_post', pairs, tid=1)
    print(f"4. posts {results}; comments {comments}")

    # 5. Wrapper interface: Y Social's Agent methods on agent data.
    wrapper = wrap_agent_data(agent_data, use_ray=True)
    wrapper_post = wrapper.post(tid=1)
    wrapper_comment = wrapper.comment(post_id=results[-1], tid=1)
    one_comment = comment_on_post(agent_data, post_id=wrapper_post, tid=1)  # the function the method runs
    print(f"5. {wrapper.name} posted {wrapper_post}, commented {wrapper_comment} and {one_comment}")

    # 6. Performance comparisons: the seed's "Step 4: Measure Performance".
    # Benchmark sequential
    start = time.time()
    for agent_data in agent_data_list:
        post_content(agent_data, tid=1)
    sequential_time = time.time() - start

    # Benchmark parallel
    start = time.time()
    execute_parallel_gpu('post_content', agent_data_list, tid=1)
    parallel_time = time.time() - start

    print(f"6. {len(agent_data_list)} posts one at a time: {sequential_time:.2f} s; "
          f"in parallel: {parallel_time:.2f} s")
    print(f"Speedup: {sequential_time / parallel_time:.2f}x")
    shutdown_ray()
    return {
        "db_url": platform.db_url, "run_id": platform.run_id,
        "agents": [a.name for a in agent_data_list], "agent_ids": [a.agent_id for a in agent_data_list],
        "converted": legacy_data, "legacy_post": legacy_post, "feeds": feeds, "interests": interests,
        "posts": results, "comments": comments, "comment_targets": [p for _, p in pairs],
        "wrapper_post": wrapper_post, "wrapper_comment": wrapper_comment, "direct_comment": one_comment,
        "sequential_s": sequential_time, "parallel_s": parallel_time,
        "speedup": sequential_time / parallel_time,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-url", help="OpenAI-compatible base URL (default: YSIM_LLM_URL, else the embedded "
                                          "demo model)")
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    options = parser.parse_args()
    main(options.llm_url, options.agents, options.db)
