"""Layered configuration: several --config files (a Y Social file, then ysim's) and --set KEY=VALUE."""

from __future__ import annotations

import json

import pytest

from agent_models import YSocialConfigWarning
from flows import config_loader
from tests.ysocial_files import CLASSIC_CONFIG


pytestmark = pytest.mark.filterwarnings(f"ignore::{YSocialConfigWarning.__module__}.{YSocialConfigWarning.__name__}")


@pytest.fixture
def layered(tmp_path):
    """Y Social's config.json and a ysim YAML file that sets what a Y Social file cannot."""
    ysocial = tmp_path / "config.json"
    ysocial.write_text(CLASSIC_CONFIG.read_text())
    ysim = tmp_path / "ysim.yaml"
    ysim.write_text("llm: {concurrency: 12}\n"
                    "simulation: {actions_likelihood: {post: 1.0}}\n"
                    "ray: {batch_size: 7}\n")
    return ysocial, ysim


def test_a_later_file_overrides_setting_by_setting(layered):
    ysocial, ysim = layered
    config = config_loader.build(config_loader.load_files([ysocial, ysim]), {})
    raw = json.loads(ysocial.read_text())
    assert config.llm.concurrency == 12 and config.ray.batch_size == 7  # ysim-only settings
    # The Y Social file's other settings in the same sections stay.
    assert config.llm.temperature == raw["servers"]["llm_temperature"]
    assert config.agents.count == raw["simulation"]["starting_agents"]
    # A setting given again is replaced whole: the run's action mix is the later file's, not a blend.
    assert config.simulation.actions_likelihood == {"post": 1.0}
    reversed_order = config_loader.build(config_loader.load_files([ysim, ysocial]), {})
    assert reversed_order.simulation.actions_likelihood == raw["simulation"]["actions_likelihood"]
    assert reversed_order.llm.concurrency == 12  # the Y Social file does not set it


def test_set_overrides_the_files_and_reaches_inside_a_setting(layered):
    ysocial, ysim = layered
    overrides = config_loader.parse_set(["llm.concurrency=auto", "agents.age.min=30", "ray.batch_size=3",
                                         "simulation.hourly_activity.3=0.5", "llm.url=null",
                                         "agents.interests=[a, b]", "simulation.name=two words"])
    config = config_loader.build(config_loader.with_values(config_loader.load_files([ysocial, ysim]), overrides), {})
    assert config.llm.concurrency == "auto" and config.ray.batch_size == 3
    assert (config.agents.age.min, config.agents.age.max) == (30, 60)  # max from the file
    assert config.simulation.hourly_activity[3] == 0.5 and config.simulation.hourly_activity[4] == 0.018
    assert config.agents.interests == ["a", "b"] and config.simulation.name == "two words"
    assert config.llm.url is None  # null is a value: the embedded model rather than the file's server
    # Inside a setting nothing sets, the rest is the default.
    defaults = config_loader.build(config_loader.with_values({}, config_loader.parse_set(["agents.round_actions.max=9"])), {})
    assert (defaults.agents.round_actions.min, defaults.agents.round_actions.max) == (1, 9)


@pytest.mark.parametrize("item, message", [
    ("llm.concurrency", r"--set: 'llm.concurrency' is not KEY=VALUE with a dotted KEY"),
    ("concurrency=3", r"--set: 'concurrency=3' is not KEY=VALUE"),
    ("llm..x=3", r"--set: 'llm..x=3' is not KEY=VALUE"),
    ("llm.temperature=[1, ", r"--set llm.temperature: '\[1, ' is not a YAML value"),
    ("simulation.name=2024-01-01", r"--set: simulation.name: datetime.date\(2024, 1, 1\): expected text"),
    ("llm.temperature=.nan", r"--set: llm.temperature: nan: a number must be finite"),
])
def test_a_malformed_set_is_a_one_line_error(item, message):
    with pytest.raises(config_loader.ConfigError, match=message) as error:
        config_loader.parse_set([item])
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("item, message", [
    ("llm.concurency=3", r"llm.concurency: 3: Extra inputs are not permitted"),
    ("llm.concurrency=0", r"llm.concurrency: 0: must be an integer >= 1 \(a fixed cap\) or \"auto\""),
    ("llm.url.host=x", r"llm.url.host: llm.url is 'http://127.0.0.1:11434/v1', not a mapping of settings"),
    ("feeds.feed_size=many", r"feeds.feed_size: 'many': Input should be a valid integer"),
])
def test_a_set_is_validated_like_the_file(layered, item, message):
    ysocial, _ = layered
    with pytest.raises(config_loader.ConfigError, match=message) as error:
        config_loader.build(config_loader.with_values(config_loader.load_files([ysocial]),
                                                      config_loader.parse_set([item])), {})
    assert "\n" not in str(error.value)


def test_a_y_social_file_brings_y_socials_defaults_and_a_ysim_file_keeps_ysims(layered, tmp_path):
    ysocial, ysim = layered
    own = config_loader.build(config_loader.load_files([ysim]), {})
    assert (own.agents.content_rec_sys, own.agents.follow_rec_sys, own.feeds.leaning_bias, own.llm.max_tokens) == \
        ("ReverseChronoFollowersPopularity", "FollowRecSys", 1.0, 96)
    assert own.simulation.client == "YClientWeb"
    from_y_social = config_loader.build(config_loader.load_files([ysocial, ysim]), {})
    assert (from_y_social.agents.follow_rec_sys, from_y_social.feeds.leaning_bias, from_y_social.llm.max_tokens) == \
        ("PreferentialAttachment", 1.5, None)  # YClient's command line; its -1: no cap
    assert from_y_social.simulation.client == "YClientWithPages"
    override = tmp_path / "recsys.yaml"
    override.write_text("agents: {follow_rec_sys: FollowRecSys}\nfeeds: {leaning_bias: 1.0}\nllm: {max_tokens: 200}\n")
    chosen = config_loader.build(config_loader.load_files([ysocial, override]), {})
    assert (chosen.agents.follow_rec_sys, chosen.feeds.leaning_bias, chosen.llm.max_tokens) == ("FollowRecSys", 1.0, 200)
