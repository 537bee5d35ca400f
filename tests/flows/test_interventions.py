"""Issue 24, item 1 (first part): interventions that change run settings from a tick on, applied
by the tick they start at and recorded once, in that tick's transaction."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml
from sqlalchemy import select

from agent_models import AgentData, RunConfig
from agent_models.interventions import group_overrides
from db import session_factory
from db.models import ActionRow, AgentRow, InterventionRow, OpinionRow, PostRow, RecommendationRow, RunRow
from flows import config_loader
from flows.resume import ResumeError, fields, resume
from tasks import prepare_run
from tests.flows.test_cli import status, ysim
from tests.tasks.platform_fixture import run_tick_inline

ALL_ACTIONS = {"post": 0.3, "comment": 0.3, "read": 0.3, "follow": 0.1}
PUSH = {"at": "day 0 hour 2", "set": {"simulation.actions_likelihood": {"post": 1.0}, "feeds.feed_size": 3},
        "note": "posting push"}


def test_at_tick_applies_the_interventions_due_in_order():
    config = RunConfig.model_validate({
        "llm": {"api_key": "secret"},
        "interventions": [{"at": 3, "set": {"llm.temperature": 0.5}},
                          {"at": "day 0 hour 1", "set": {"llm.temperature": 0.2, "agents.age.min": 30}},
                          {"at": 3, "set": {"llm.temperature": 0.7}}]})
    assert config.at_tick(0) is config
    assert (config.at_tick(1).llm.temperature, config.at_tick(2).agents.age.min) == (0.2, 30)
    assert config.at_tick(2).agents.age.max == 60  # the rest of the setting stays
    assert config.at_tick(3).llm.temperature == 0.7  # one tick's entries in list order
    assert config.at_tick(9).llm.api_key.get_secret_value() == "secret"
    assert config.at_tick(9).interventions == config.interventions


@pytest.mark.parametrize("entry, message", [
    ({"at": "noon", "set": {"feeds.feed_size": 3}}, r"interventions\[0\].at: 'noon': 'noon' is not a tick .* \"day D hour H\""),
    ({"at": "day 1 hour 24", "set": {"feeds.feed_size": 3}}, r"hour 24 is outside 0..23"),
    ({"at": 1, "set": {"simulation.seed": 3}}, r"'simulation.seed' cannot change during a run: the seed makes the run"),
    ({"at": 1, "set": {"ray.batch_size": 3}}, r"'ray.batch_size' cannot change during a run"),
    ({"at": 1, "set": {"feeds.fed_size": 3}}, r"interventions\[0\].set.feeds.fed_size: 3: Extra inputs are not permitted"),
    ({"at": 1, "set": {"feeds.feed_size": 0}}, r"interventions\[0\].set.feeds.feed_size: 0: Input should be greater"),
    ({"at": 1, "set": {}}, r"interventions\[0\]: .*give `set` \(run settings\), `agent_set`"),
    ({"at": 1, "opinions": {"tax": {"set": 0.5, "shift": 0.1}}}, r"give one of `set` \(a value in 0..1\) or `shift`"),
    ({"at": 1, "posts": [{"author": 1, "text": ""}]}, r"interventions\[0\].posts\[0\].text: '': String should have"),
    ({"at": 1, "agents": {"leaning": ["D"]}, "set": {"feeds.feed_size": 3}},
     r"interventions\[0\]: .*`agents` selects the group that `agent_set`, `opinions` or `remove` apply to"),
    ({"at": 1, "agent_set": {"feed_size": 3}}, r"interventions\[0\].agent_set: .*'feed_size' is not an agent setting"),
    ({"at": 1, "agent_set": {"round_actions": 0}}, r"round_actions: 0 must be an integer >= 1"),
    ({"at": 1, "agents": {"fraction": 0}, "agent_set": {"toxicity": "high"}},
     r"interventions\[0\].agents.fraction: 0: Input should be greater than 0"),
])
def test_a_bad_intervention_is_a_one_line_error_naming_the_entry(entry, message):
    with pytest.raises(config_loader.ConfigError, match=message) as error:
        config_loader.build({"interventions": [entry]}, {})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("entry, message", [
    ({"at": 1, "set": {"simulation.seed": 5}}, "interventions[0].set"),
    ({"at": 1, "agent_set": {"content_rec_sys": "Nope"}},
     "interventions[0].agent_set.content_rec_sys: 'Nope' is not one of "),
    ({"at": 1, "agents": {"leaning": ["Martian"], "fraction": 0.5}, "remove": True},
     "interventions[0].agents: {'leaning': ['Martian']}: matches none of the run's 30 starting agents"),
])
def test_a_bad_intervention_stops_ysim_run_before_anything_is_written(tmp_path, capsys, monkeypatch, entry, message):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"interventions": [entry]}))
    code, _, err = ysim(capsys, "run", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert code != 0 and err.count("\n") == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.yaml"]


def test_an_intervention_changes_the_run_from_its_tick_and_is_recorded_once(ray_session, llm_stub, sqlite_url,
                                                                          tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({
        "simulation": {"hourly_activity": {h: 0.5 for h in range(24)}, "actions_likelihood": ALL_ACTIONS},
        "agents": {"rule_based_share": 0.5}, "llm": {"max_retries": 0}, "interventions": [PUSH]}))
    run = ("run", "--config", str(config), "--db", sqlite_url, "--llm-url", llm_stub.url, "--agents", "10")
    code, _, err = ysim(capsys, *run, "--ticks", "3")
    assert code == 0, err
    code, _, err = ysim(capsys, *run, "--ticks", "4")  # resumed: the intervention is not recorded again
    assert code == 0, err
    assert status(capsys, sqlite_url)["ticks_committed"] == 4
    with session_factory(sqlite_url).begin() as session:
        recorded = [(r.tick, r.position, r.settings, r.note) for r in session.scalars(select(InterventionRow))]
        chosen = session.execute(select(ActionRow.tick, ActionRow.action)).all()
        stored = session.scalars(select(RunRow.config)).one()
    assert recorded == [(2, 0, {"set": PUSH["set"]}, "posting push")]
    assert stored["interventions"][0]["at"] == "day 0 hour 2"
    before = Counter(action for tick, action in chosen if tick < 2)
    after = Counter(action for tick, action in chosen if tick >= 2)
    assert set(before) - {"POST", "NONE", "REPLY"}, before  # comments, reads, follows before the push
    assert set(after) <= {"POST", "NONE", "REPLY"} and after["POST"], after  # only posting from tick 2


def test_a_group_intervention_changes_only_its_agents_from_its_tick(sqlite_url):
    """Republicans only post from tick 2; a seeded half of the Democrats read a reverse-chronological
    feed from tick 2 (the same half at every tick); everyone else is untouched."""
    config = RunConfig.model_validate({
        "simulation": {"seed": 5, "ticks": 5, "hourly_activity": {h: 0.6 for h in range(24)},
                       "actions_likelihood": ALL_ACTIONS},
        "agents": {"count": 40, "rule_based_share": 1.0, "political_leanings": ["Democrat", "Republican"]},
        "database": {"url": sqlite_url},
        "interventions": [
            {"at": 2, "agents": {"leaning": ["Republican"]}, "agent_set": {"actions_likelihood": {"post": 1.0}},
             "note": "treatment: posting"},
            {"at": 2, "agents": {"leaning": ["Democrat"], "fraction": 0.5},
             "agent_set": {"content_rec_sys": "ReverseChrono"}}]})
    run = prepare_run.fn(config)
    for tick in range(config.simulation.ticks):
        run_tick_inline(config, run.run_id, tick)
    with session_factory(sqlite_url).begin() as session:
        leaning = dict(session.execute(select(AgentRow.agent_id, AgentRow.leaning)).all())
        chosen = session.execute(select(ActionRow.tick, ActionRow.agent_id, ActionRow.action)).all()
        served = session.execute(select(RecommendationRow.tick, RecommendationRow.agent_id,
                                        RecommendationRow.recommender)).all()
        recorded = [(r.tick, r.position, r.settings, r.note) for r in session.scalars(select(InterventionRow))]
    kinds = {(early, side): Counter(a for t, agent, a in chosen if (t < 2) == early and leaning[agent] == side)
             for early in (True, False) for side in ("Democrat", "Republican")}
    assert set(kinds[(False, "Republican")]) <= {"POST", "NONE", "REPLY"} and kinds[(False, "Republican")]["POST"]
    for group in ((True, "Republican"), (True, "Democrat"), (False, "Democrat")):
        assert set(kinds[group]) - {"POST", "NONE", "REPLY"}, group  # comments, reads, follows
    switched = {agent for t, agent, name in served if t >= 2 and name == "ReverseChrono"}
    assert switched and all(leaning[a] == "Democrat" for a in switched)
    assert not {agent for t, agent, name in served if t < 2 and name == "ReverseChrono"}
    democrats_served_late = {agent for t, agent, _ in served if t >= 2 and leaning[agent] == "Democrat"}
    assert switched < democrats_served_late  # a share of them, not all
    for t, agent, name in served:  # the same agents at every tick from 2 on
        if t >= 2 and leaning[agent] == "Democrat":
            assert (name == "ReverseChrono") == (agent in switched)
    assert [(t, p) for t, p, _, _ in recorded] == [(2, 0), (2, 1)]
    assert recorded[0][2] == {"set": {}, "agents": {"leaning": ["Republican"]},
                              "agent_set": {"actions_likelihood": {"post": 1.0}}}


def test_posts_opinion_shocks_bans_and_new_agents_are_written_once_by_their_tick(sqlite_url):
    config = RunConfig.model_validate({
        "simulation": {"seed": 8, "ticks": 4, "hourly_activity": {h: 0.5 for h in range(24)},
                       "actions_likelihood": ALL_ACTIONS},
        "agents": {"count": 20, "rule_based_share": 1.0, "political_leanings": ["Democrat", "Republican"]},
        "database": {"url": sqlite_url},
        "interventions": [
            {"at": 1, "posts": [{"author": 3, "text": "Breaking: the river flooded #flood", "topics": ["weather"]}],
             "note": "news breaks"},
            {"at": 1, "agents": {"leaning": ["Democrat"]}, "opinions": {"tax": {"set": 0.9}}},
            {"at": 1, "agents": {"leaning": ["Republican"], "fraction": 0.5}, "remove": True, "note": "ban"},
            {"at": 1, "add_agents": 3}]})
    run = prepare_run.fn(config)
    for tick in range(config.simulation.ticks):
        run_tick_inline(config, run.run_id, tick)
    again = run_tick_inline(config, run.run_id, 1)  # a retried tick 1 writes nothing twice
    assert again.get("already_committed")
    with session_factory(sqlite_url).begin() as session:
        agents = session.execute(select(AgentRow.agent_id, AgentRow.leaning, AgentRow.joined_on,
                                        AgentRow.left_on)).all()
        posts = session.execute(select(PostRow.tick, PostRow.author_id, PostRow.text)
                                .where(PostRow.text.like("Breaking%"))).all()
        shocks = session.execute(select(OpinionRow.agent_id, OpinionRow.tick, OpinionRow.opinion)
                                 .where(OpinionRow.tick == 1)).all()
        acted_late = {a for (a,) in session.execute(select(ActionRow.agent_id).where(ActionRow.tick >= 2))}
        recorded = session.execute(select(InterventionRow.tick, InterventionRow.position)).all()
    democrats = {a for a, leaning, joined, _ in agents if leaning == "Democrat" and joined == 0}
    republicans = {a for a, leaning, joined, _ in agents if leaning == "Republican" and joined == 0}
    banned = {a for a, _, _, left in agents if left == 2}
    assert posts == [(1, 3, "Breaking: the river flooded #flood")]
    assert {(a, o) for a, _, o in shocks} == {(a, 0.9) for a in democrats}
    assert banned and banned < republicans and not banned & acted_late  # a share of them, gone from tick 2
    assert len([a for a, _, joined, _ in agents if joined == 2]) == 3
    assert recorded == [(1, 0), (1, 1), (1, 2), (1, 3)]


def test_a_resumed_run_may_plan_later_interventions_but_not_rewrite_the_past():
    push, late = PUSH, {"at": 10, "set": {"llm.temperature": 0.1}}
    stored = RunConfig.model_validate({"interventions": [push]}).model_dump(mode="json")
    given = fields(RunConfig.model_validate({"interventions": [push, late]}))
    resumed = resume(stored, given, next_tick=5)
    assert [i.tick for i in resumed.config.interventions] == [2, 10] and not resumed.kept
    assert resume(stored, fields(RunConfig()), next_tick=5).config.interventions[0].tick == 2  # none given: kept
    with pytest.raises(ResumeError, match=r"interventions\[0\].at: the run resumes at tick 5, so the interventions "
                                          r"of ticks before it stay as stored"):
        resume(stored, fields(RunConfig.model_validate({"interventions": [{"at": 3, "set": {"feeds.feed_size": 2}},
                                                                            push]})), next_tick=5)
    with pytest.raises(ResumeError, match=r"^interventions: the run resumes at tick 5"):  # the past one removed
        resume(stored, fields(RunConfig.model_validate({"interventions": [late]})), next_tick=5)


def test_group_overrides_copy_the_selected_agents_with_their_new_settings():
    dynamics = {"enabled": True, "model_name": "bounded_confidence", "parameters": {"epsilon": 0.3}}
    config = RunConfig.model_validate({"interventions": [
        {"at": 1, "agents": {"age": {"min": 30, "max": 50}}, "agent_set": {"model": "small", "opinion_dynamics": dynamics}},
        {"at": 3, "agent_set": {"toxicity": "high"}}]})
    people = [AgentData("young", "y@x", agent_id=1, age=20), AgentData("mid", "m@x", agent_id=2, age=40)]
    assert group_overrides(people, config.interventions, 0, 7) == people  # nothing due yet
    young, mid = group_overrides(people, config.interventions, 2, 7)
    assert young is people[0] and (mid.type, mid.opinion_dynamics) == ("small", dynamics)
    assert people[1].type == "" and people[1].opinion_dynamics is None  # the loaded agent is not changed
    later = group_overrides(people, config.interventions, 3, 7)
    assert [a.toxicity for a in later] == ["high", "high"] and later[1].type == "small"


def test_an_interventions_artifact_line_is_its_note_else_its_changes():
    from agent_models.interventions import Intervention

    assert Intervention.model_validate(PUSH).summary() == "posting push"
    bare = Intervention.model_validate({"at": 1, "set": {"feeds.feed_size": 3}, "opinions": {"tax": {"shift": -0.2}},
                                        "remove": True, "agents": {"leaning": ["D"]}})
    assert bare.summary() == "feeds.feed_size = 3, tax = {'shift': -0.2}, remove = True"
