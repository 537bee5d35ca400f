"""The examples in examples/ run: the configurations build, the seed's Ray example writes its posts."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import pytest

from flows import config_loader

ROOT = Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))


def test_there_are_examples_for_each_llm_server():
    assert {p.stem for p in EXAMPLES} >= {"demo", "vllm", "ollama", "llamacpp", "openai"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_builds_a_run_configuration(path):
    config = config_loader.build(config_loader.load_file(path), {})
    if path.parent.name == "llm":
        assert config.llm.url and config.llm.url.endswith("/v1")


def _load_example():
    spec = importlib.util.spec_from_file_location("ray_parallel_example", ROOT / "examples" / "ray_parallel_example.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


@pytest.fixture
def fresh_platform(monkeypatch):
    """No platform opened by an earlier test, and none from this machine's environment."""
    from tasks import platform_env

    for name in (platform_env.DB_ENV, platform_env.LLM_URL_ENV, platform_env.LLM_MODEL_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(platform_env, "_default", None)


def test_the_ray_parallel_example_runs_the_seeds_six_parts(ray_session, llm_stub, sqlite_url, fresh_platform,
                                                           capsys):
    n = 5
    made = _load_example().main(llm_stub.url, n_agents=n, db_url=sqlite_url)
    out = capsys.readouterr().out
    assert [line[:2] for line in out.splitlines() if line[:1].isdigit()] == ["1.", "2.", "3.", "4.", "5.", "6."]
    assert "converted a Y Social agent: AgentData(user0, Independent)" in out
    assert out.splitlines()[-1] == f"Speedup: {made['sequential_s'] / made['parallel_s']:.2f}x"  # the seed's line

    # One value per input, in input order: a feed and an interest draw per agent, a post per agent.
    assert made["agents"] == [f"user{i}" for i in range(1, n + 1)]
    assert len(made["feeds"]) == len(made["interests"]) == n
    assert all(isinstance(names, list) and len(names) == len(ids) for names, ids in made["interests"])
    assert made["converted"].name == "user0" and made["converted"].leaning == "Independent"

    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    ids = dict(db.execute("SELECT name, id FROM agents WHERE run_id = ?", (made["run_id"],)))
    assert made["agent_ids"] == [ids[name] for name in made["agents"]]  # registered on first use
    posts = {pid: (author, tick, comment_to) for pid, author, tick, comment_to in db.execute(
        "SELECT id, author_id, tick, comment_to FROM posts WHERE run_id = ?", (made["run_id"],))}

    # Part 4: each agent's post is by that agent; each comment is by its agent, on the post it was given.
    assert [posts[p][0] for p in made["posts"]] == made["agent_ids"]
    assert all(posts[p][2] is None for p in made["posts"])
    assert [posts[c][0] for c in made["comments"]] == made["agent_ids"]
    assert [posts[c][2] for c in made["comments"]] == made["comment_targets"] == made["posts"][1:] + made["posts"][:1]
    # Parts 2 and 5: the converted agent's post, the wrapper's post and comment, the direct comment.
    assert posts[made["legacy_post"]][0] == ids["user0"]
    assert posts[made["wrapper_post"]][0] == ids["user1"]
    assert posts[made["wrapper_comment"]][2] == made["posts"][-1]
    assert posts[made["direct_comment"]][2] == made["wrapper_post"]
    # Part 6: both sides posted once per agent; every post of the example is at tid 1.
    by_author = {}
    for author, _, comment_to in posts.values():
        if comment_to is None:
            by_author[author] = by_author.get(author, 0) + 1
    assert by_author == {**{i: 3 for i in made["agent_ids"]}, ids["user1"]: 4, ids["user0"]: 1}
    assert len(posts) == 1 + n + n + 2 + 1 + 2 * n and {tick for _, tick, _ in posts.values()} == {1}
    assert made["sequential_s"] > 0 and made["parallel_s"] > 0
    assert made["speedup"] == made["sequential_s"] / made["parallel_s"]
    assert ray_session.is_initialized()  # the session's Ray, which the example did not start, is left running
