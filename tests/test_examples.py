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
