"""Y Social's configuration files read into ysim's RunConfig: what is used, what is named and ignored."""

from __future__ import annotations

import json

import pytest

from agent_models import RunConfig, YSocialConfigError, from_ysocial, is_ysocial_config
from agent_models.run_config import YSOCIAL_HOURLY_ACTIVITY
from tests.ysocial_files import CLASSIC_CONFIG, WEB_CLIENT_CONFIG


def test_the_classic_config_json_becomes_a_run_config():
    data = json.loads(CLASSIC_CONFIG.read_text())
    assert is_ysocial_config(data)
    translation = from_ysocial(data)
    config = RunConfig.model_validate(translation.config)
    assert config.simulation.ticks == 30 * 24 and config.agents.count == 180
    assert config.simulation.hourly_activity == YSOCIAL_HOURLY_ACTIVITY
    assert config.simulation.actions_likelihood == data["simulation"]["actions_likelihood"]
    assert config.simulation.drawable_actions == {"POST": 0.2, "COMMENT": 0.5, "READ": 0.2, "SHARE": 0.8,
                                                  "SEARCH": 0.1}  # cast has weight 0
    assert config.simulation.skipped_actions.keys() == {"image", "news"}
    assert (config.simulation.percentage_new_agents, config.simulation.percentage_removed_agents) == (0.07, 0.014)
    assert config.agents.probability_of_daily_follow == 0.1
    assert (config.llm.url, config.llm.api_key.get_secret_value(), config.llm.temperature) == \
        ("http://127.0.0.1:11434/v1", "NULL", 1.5)
    assert config.llm.max_tokens == RunConfig().llm.max_tokens  # Y Social's -1 ("no cap") keeps ysim's cap
    assert config.feeds.followers_ratio == 0.6 and config.feeds.visibility_rounds == 36
    agents = config.agents
    assert agents.interests == data["agents"]["interests"] and agents.big_five == data["agents"]["big_five"]
    assert (agents.age.min, agents.age.max, agents.n_interests.min, agents.n_interests.max) == (18, 60, 4, 10)
    assert agents.llm_models == ["llama3.2"] and agents.attention_window == 336
    assert agents.emotions == list(data["posts"]["emotions"]) and len(agents.emotions) == 28
    # Everything ysim does not carry out is named; keys that wire Y Social's processes are not.
    assert translation.ignored == (
        "servers.llm_v", "servers.llm_v_api_key", "servers.llm_v_max_tokens", "servers.llm_v_temperature",
        "agents.daily_actions", "agents.llm_v_agent")


def test_a_web_app_client_config_uses_what_ysim_supports_and_names_the_rest():
    data = json.loads(WEB_CLIENT_CONFIG.read_text())
    translation = from_ysocial(data)
    config = RunConfig.model_validate(translation.config)
    assert config.simulation.activity_profiles["Evenings"] == "18,19,20,21,22,23"
    assert config.agents.archetypes == {"validator": 0.52, "broadcaster": 0.2, "explorer": 0.28}
    assert config.agents.population == "forum5" and config.agents.opinion_dynamics == {"enabled": False}
    assert config.simulation.actions_likelihood["share_link"] == 2.0
    ignored = set(translation.ignored)
    assert {"agents.memory_enabled", "agents.memory_embedding_model", "agents.thread_browse_mode",
            "agents.max_replies_per_round", "stress_reward", "simulation.feed_refresh",
            "simulation.agent_archetypes"} <= ignored  # the transition matrix is not used
    assert not ignored & {"simulation.activity_profiles", "simulation.population", "simulation.clock_mode",
                          "simulation.opinion_dynamics", "simulation.emotion_annotation", "servers.api",
                          "simulation.percentage_new_agents_iteration"}  # supported, or switched off
    with pytest.warns(UserWarning, match="ignoring Y Social settings ysim does not carry out: .*stress_reward"):
        translation.warn()


def test_switched_on_features_are_carried_out_or_named():
    data = json.loads(WEB_CLIENT_CONFIG.read_text())
    dynamics = {"enabled": True, "model_name": "bounded_confidence"}
    data["simulation"].update(opinion_dynamics=dynamics, emotion_annotation=True, clock_mode="real_time")
    translation = from_ysocial(data)
    assert "simulation.clock_mode" in translation.ignored  # ysim's clock is always simulated
    assert not {"simulation.opinion_dynamics", "simulation.emotion_annotation"} & set(translation.ignored)
    agents = RunConfig.model_validate(translation.config).agents
    assert agents.opinion_dynamics == dynamics and agents.annotate_emotions is True


@pytest.mark.parametrize("patch, message", [
    ({"simulation": {"days": "thirty"}}, "simulation.days: 'thirty' must be a whole number of days >= 1"),
    ({"agents": ["x"]}, "agents: expected an object of settings"),
    ({"posts": {"emotions": "joy"}}, "posts.emotions: 'joy' must be an object or list"),
])
def test_unusable_values_name_the_key(patch, message):
    with pytest.raises(YSocialConfigError, match=message):
        from_ysocial({"servers": {}, **patch})


def test_ysim_files_are_not_mistaken_for_y_social_ones():
    assert not is_ysocial_config({"simulation": {"ticks": 5}, "agents": {"count": 3}})
    assert is_ysocial_config({"simulation": {"days": 2}})
