"""Y Social's configuration files read into ysim's RunConfig: what is used, what is named and ignored."""

from __future__ import annotations

import json

import pytest

from agent_models import RunConfig, YSocialConfigError, YSocialConfigWarning, from_ysocial, is_ysocial_config
from agent_models.run_config import SQL_INTEGER_MAX, YSOCIAL_HOURLY_ACTIVITY
from agent_models.ysocial_config import YSOCIAL_SECTIONS
from flows import config_loader
from tests.ysocial_files import ALL_CLIENT_CONFIGS, CLASSIC_CONFIG, WEB_APP_CONFIGS, WEB_CLIENT_CONFIG


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
    assert config.llm.max_tokens is None  # Y Social's -1: no cap
    # Y Social's defaults where ysim's differ: YClient's command line and request settings.
    assert (config.agents.content_rec_sys, config.agents.follow_rec_sys, config.feeds.leaning_bias) == \
        ("ReverseChronoFollowersPopularity", "PreferentialAttachment", 1.5)
    assert config.simulation.client == "YClientWithPages"  # the classic loop's rounds rule
    assert config.feeds.followers_ratio == 0.6 and config.feeds.visibility_rounds == 36
    agents = config.agents
    assert agents.interests == data["agents"]["interests"] and agents.big_five == data["agents"]["big_five"]
    assert (agents.age.min, agents.age.max, agents.n_interests.min, agents.n_interests.max) == (18, 60, 4, 10)
    assert agents.llm_models == ["llama3.2"] and agents.attention_window == 336
    assert agents.emotions == list(data["posts"]["emotions"]) and len(agents.emotions) == 28
    # Everything ysim does not carry out is named, with its reason.
    assert translation.reasons == {
        "servers.llm_v": "the vision model: ysim draws no IMAGE action",
        "servers.llm_v_api_key": "the vision model: ysim draws no IMAGE action",
        "servers.llm_v_max_tokens": "the vision model: ysim draws no IMAGE action",
        "servers.llm_v_temperature": "the vision model: ysim draws no IMAGE action",
        "servers.api": "the Y Social server's address: ysim is client and server in one",
        "agents.daily_actions": "read by no Y Social client",
        "agents.llm_v_agent": "the vision model: ysim draws no IMAGE action"}
    with pytest.warns(UserWarning) as warned:
        translation.warn()
    assert len(warned) == 1 and str(warned[0].message) == (
        "ignoring Y Social settings ysim does not carry out: servers.llm_v, servers.llm_v_api_key, "
        "servers.llm_v_max_tokens, servers.llm_v_temperature, agents.llm_v_agent (the vision model: ysim draws no "
        "IMAGE action); servers.api (the Y Social server's address: ysim is client and server in one); "
        "agents.daily_actions (read by no Y Social client)")


def test_a_web_app_client_config_uses_what_ysim_supports_and_names_the_rest():
    data = json.loads(WEB_CLIENT_CONFIG.read_text())
    translation = from_ysocial(data)
    config = RunConfig.model_validate(translation.config)
    assert config.simulation.activity_profiles["Evenings"] == "18,19,20,21,22,23"
    assert config.agents.archetypes == {"validator": 0.52, "broadcaster": 0.2, "explorer": 0.28}
    assert config.agents.population == "forum5" and config.agents.opinion_dynamics == {"enabled": False}
    assert config.simulation.actions_likelihood["share_link"] == 2.0
    assert config.memory.enabled is True  # issue 25: its memory is on
    ignored = set(translation.ignored)
    assert {"agents.memory_embedding_model", "agents.memory_top_k", "agents.thread_browse_mode",
            "agents.max_replies_per_round", "stress_reward",
            "simulation.agent_archetypes"} <= ignored  # the transition matrix is not used
    assert not ignored & {"simulation.activity_profiles", "simulation.population", "simulation.clock_mode",
                          "simulation.opinion_dynamics", "simulation.emotion_annotation", "simulation.client",
                          "simulation.slots", "simulation.feed_refresh",
                          "simulation.percentage_new_agents_iteration"}  # carried out
    with pytest.warns(UserWarning, match="ignoring Y Social settings ysim does not carry out: .*stress_reward"):
        translation.warn()


def test_a_web_app_files_memory_settings_are_carried_and_the_forum_clients_others_named():
    """Issue 25: the YSocial web app's memory keys (a forum experiment's client file, as written)."""
    data = json.loads(WEB_APP_CONFIGS[0].read_text())
    translation = from_ysocial(data)
    config = RunConfig.model_validate(translation.config)
    carried = {"memory_enabled": "enabled", "memory_pair_limit": "pair_limit",
               "memory_prompt_max_chars": "prompt_max_chars", "memory_search_k": "search_k",
               "memory_social_decay_lambda": "social_decay_lambda", "memory_thread_decay_lambda": "thread_decay_lambda",
               "memory_social_corruption_rate": "social_corruption_rate",
               "memory_thread_corruption_rate": "thread_corruption_rate"}
    assert {key: getattr(config.memory, name) for key, name in carried.items()} == \
        {key: data["agents"][key] for key in carried}
    named = {key for key in data["agents"] if key.startswith("memory_")} - set(carried)
    assert len(named) > 20 and {f"agents.{key}" for key in named} <= set(translation.ignored)
    assert translation.reasons["agents.memory_reflection_cadence_rounds"] == \
        "LLM reflections over memories (YClientReddit): not modelled"


def test_memory_values_are_clamped_as_y_socials_client_clamps_them():
    translation = from_ysocial({"simulation": {"days": 1}, "agents": {
        "memory_enabled": True, "memory_prompt_max_chars": 9000, "memory_pair_limit": "3", "memory_search_k": 0}})
    assert RunConfig.model_validate(translation.config).memory.model_dump(
        include={"prompt_max_chars", "pair_limit", "search_k"}) == {"prompt_max_chars": 3200, "pair_limit": 3,
                                                                    "search_k": 1}
    with pytest.raises(YSocialConfigError, match="agents.memory_pair_limit: 'many' must be a number"):
        from_ysocial({"agents": {"memory_pair_limit": "many"}})


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
    ({"simulation": {"days": "thirty"}}, "simulation.days: 'thirty' must be a whole number of days >= 1, or -1"),
    ({"simulation": {"days": 0}}, "simulation.days: 0 must be a whole number of days >= 1, or -1"),
    ({"servers": {"llm_max_tokens": 0}}, r"servers.llm_max_tokens: 0 must be a whole number >= 1, or -1 \(no cap\)"),
    ({"simulation": {"opinion_dynamics": "on"}}, r"simulation.opinion_dynamics: 'on' must be an object, or null"),
    ({"agents": ["x"]}, "agents: expected an object of settings"),
    ({"posts": {"emotions": "joy"}}, "posts.emotions: 'joy' must be an object or list"),
])
def test_unusable_values_name_the_key(patch, message):
    with pytest.raises(YSocialConfigError, match=message):
        from_ysocial({"servers": {}, **patch})


def test_ysim_files_are_not_mistaken_for_y_social_ones():
    assert not is_ysocial_config({"simulation": {"ticks": 5}, "agents": {"count": 3}})
    assert is_ysocial_config({"simulation": {"days": 2}})


@pytest.mark.parametrize("path", ALL_CLIENT_CONFIGS, ids=lambda p: p.name)
def test_every_y_social_client_configuration_loads_as_it_is(path, tmp_path):
    """Each file loads unchanged, and each of its keys is carried out or named with a reason."""
    data = json.loads(path.read_text())
    translation = from_ysocial(data)
    given = {f"{section}.{key}" if isinstance(values, dict) and section in YSOCIAL_SECTIONS else section
             for section, values in data.items() for key in (values if isinstance(values, dict) else [None])}
    assert set(translation.carried) | set(translation.reasons) == given
    assert not set(translation.carried) & set(translation.reasons)
    assert all(translation.reasons.values())
    (tmp_path / path.name).write_text(path.read_text())
    with pytest.warns(YSocialConfigWarning):
        loaded = config_loader.load_file(tmp_path / path.name)
    config = config_loader.build(loaded, {})
    assert config.simulation.client == data["simulation"]["client"]
    assert config.llm.temperature == data["servers"]["llm_temperature"]


def test_the_web_apps_null_minus_one_and_empty_pools_mean_what_y_social_means():
    as_written, until_stopped = (json.loads(p.read_text()) for p in WEB_APP_CONFIGS)
    config = RunConfig.model_validate(from_ysocial(as_written).config)
    assert config.agents.population == "forum100" and config.agents.interests == []  # agents come from the file
    assert config.agents.political_leanings == ["democrat"] and config.llm.max_tokens is None
    assert config.simulation.ticks == 30 * 24 and config.agents.llm_models == []
    assert RunConfig.model_validate(from_ysocial(until_stopped).config).simulation.ticks == SQL_INTEGER_MAX
    assert "agents.political_leaning" in from_ysocial(as_written).reasons  # singular: read by no client
    as_written["simulation"]["opinion_dynamics"] = None  # "off", as the web app writes it for some runs
    assert RunConfig.model_validate(from_ysocial(as_written).config).agents.opinion_dynamics is None
    # Empty pools are an error only where agents are generated from them.
    as_written["simulation"]["percentage_new_agents_iteration"] = 0.1
    with pytest.raises(ValueError, match=r"agents.interests: \[\]: must hold at least one value when new agents join"):
        RunConfig.model_validate(from_ysocial(as_written).config)
    del as_written["simulation"]["population"]
    as_written["simulation"]["percentage_new_agents_iteration"] = 0.0
    with pytest.raises(ValueError, match=r"agents.interests: \[\]: .* when agents are generated"):
        RunConfig.model_validate(from_ysocial(as_written).config)


def test_the_classic_config_with_opinion_dynamics_null_loads():
    data = json.loads(CLASSIC_CONFIG.read_text())
    data["simulation"]["opinion_dynamics"] = None
    assert RunConfig.model_validate(from_ysocial(data).config).agents.opinion_dynamics is None


def test_llm_agents_null_entries_are_rule_based_agents():
    """YClientReddit's `llm_agents: [null]` means rule-based agents; each generated agent takes an
    entry at random, so the nulls' share is the rule-based share."""
    config = RunConfig.model_validate(from_ysocial({"agents": {"llm_agents": [None]}, "servers": {}}).config)
    assert config.agents.rule_based_share == 1.0 and config.agents.llm_models == []
    mixed = RunConfig.model_validate(from_ysocial({"agents": {"llm_agents": ["a", None, "b", None]}}).config)
    assert mixed.agents.rule_based_share == 0.5 and mixed.agents.llm_models == ["a", "b"]
    with pytest.raises(YSocialConfigError, match="agents.llm_agents: 'llama' must be a list of model names"):
        from_ysocial({"agents": {"llm_agents": "llama"}})
