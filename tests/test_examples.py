"""The example configurations in examples/ are valid run configurations."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import config_loader

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").rglob("*.yaml"))


def test_there_are_examples_for_each_llm_server():
    assert {p.stem for p in EXAMPLES} >= {"demo", "vllm", "ollama", "llamacpp", "openai"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_builds_a_run_configuration(path):
    config = config_loader.build(config_loader.load_file(path), {})
    if path.parent.name == "llm":
        assert config.llm.url and config.llm.url.endswith("/v1")


def test_the_ray_parallel_example_runs_its_six_steps(ray_session, llm_stub, tmp_path, capsys):
    import importlib.util

    path = Path(__file__).parents[1] / "examples" / "ray_parallel_example.py"
    spec = importlib.util.spec_from_file_location("ray_parallel_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    timings = example.main(llm_stub.url, n_agents=12, db_url=f"sqlite:///{tmp_path / 'x.db'}")
    out = capsys.readouterr().out
    assert [line[:2] for line in out.splitlines() if line[:1].isdigit()] == ["1.", "2.", "3.", "4.", "5.", "6."]
    assert "converted a Y Social agent: AgentData(bob, Independent)" in out
    assert timings["llm_calls"] == 12 and timings["parallel_s"] > 0
    import ray

    assert ray.is_initialized()  # the session's Ray, which the example did not start, is left running
