"""The seed's parallel API: named agent functions over items on Ray, results in input order."""

from __future__ import annotations

import sys
import warnings

import pytest

from db import session_factory
from db.models import PostRow
from flows import ray_integration
from flows.ray_integration import execute_parallel_cpu, execute_parallel_gpu, init_ray
from tasks import AgentCallError, platform_env, read_posts
from tests.tasks.platform_fixture import small_platform


@pytest.fixture
def platform(sqlite_url, llm_stub):
    platform = small_platform(sqlite_url, llm_stub.url)
    llm_stub.state.script = [("Write one short post", "Parallel posts #ray")]
    platform.config = platform.config.model_copy(update={"ray": platform.config.ray.model_copy(
        update={"batch_size": 2})})
    yield platform
    platform_env._default = None


def test_cpu_and_gpu_functions_run_on_ray_in_input_order(ray_session, platform, llm_stub):
    assert init_ray(config=platform.config)
    agents = [platform.agents[n] for n in ("cy", "ada", "eve", "bob")]  # not id order; batches of 2
    feeds = execute_parallel_cpu("read_posts", agents)
    expected = read_posts.fn(platform.ctx(1), agents)
    assert feeds == [expected[a.agent_id] for a in agents] and platform.first_post in feeds[0]
    post_ids = execute_parallel_gpu("post_content", agents, tid=1)
    with session_factory(platform.config.database.url).begin() as session:
        authors = {p.id: (p.author_id, p.text, p.tick) for p in session.query(PostRow).filter(PostRow.id.in_(post_ids))}
    assert [authors[i][0] for i in post_ids] == [a.agent_id for a in agents]  # written in input order
    assert post_ids == sorted(post_ids) and all(tick == 1 for _, _, tick in authors.values())
    assert [authors[i][1] for i in post_ids if authors[i][0] != platform.agents["eve"].agent_id] == [
        "Parallel posts #ray"] * 3
    assert len(llm_stub.state.requests) == 3  # eve is rule-based
    assert execute_parallel_cpu("extract_components", ["#a1 @b", "no tags", "#c2"], "hashtags") == [
        ["#a1"], [], ["#c2"]]
    with pytest.raises(AgentCallError, match="function_name: 'dance' is not one of"):
        execute_parallel_gpu("dance", agents)
    with pytest.raises(AgentCallError, match="it is a CPU function: use execute_parallel_cpu"):
        execute_parallel_gpu("read_posts", agents)


def test_without_ray_it_warns_once_and_runs_sequentially(platform, monkeypatch):
    # Ray cannot be uninstalled from the test environment: a None entry in sys.modules makes
    # `import ray` raise ImportError exactly as a missing package does.
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setattr(ray_integration, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert init_ray(config=platform.config) is False
        agents = [platform.agents[n] for n in ("bob", "ada")]
        feeds = execute_parallel_cpu("read_posts", agents)
        mentions = execute_parallel_cpu("read_mentions", agents)
    assert [str(w.message) for w in caught] == [ray_integration.NO_RAY_WARNING]
    assert feeds == [read_posts.fn(platform.ctx(1), agents)[a.agent_id] for a in agents]
    assert mentions == [[platform.first_post], []]  # bob is mentioned in ada's post
