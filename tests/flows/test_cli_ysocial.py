"""`ysim run` on Y Social's own files: config.json, web-app client configs, populations, follow graphs."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from agent_models import load_population
from db import session_factory
from db.models import AgentRow, FollowRow, RunRow
from tests.flows.test_cli import status, ysim
from tests.ysocial_files import CLASSIC_CONFIG, POPULATION, SAMPLE_GRAPH, WEB_APP_CONFIGS, WEB_CLIENT_CONFIG


def test_the_classic_y_social_config_runs_and_names_what_it_ignores(ray_session, llm_stub, sqlite_url, capsys):
    code, out, err = ysim(capsys, "run", "--config", str(CLASSIC_CONFIG), "--db", sqlite_url, "--llm-url",
                          llm_stub.url, "--agents", "6", "--ticks", "2")
    assert code == 0 and "Simulation summary" in out
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3 and "servers.llm_v" in warnings[0] and "agents.daily_actions" in warnings[0]
    assert "percentage" not in warnings[0]  # churn and new agents are carried out
    assert warnings[1:] == ["warning: action 'image' is never drawn: needs a vision model, which ysim does not run",
                            "warning: action 'news' is never drawn: only pages post news, each hour their profile "
                            "covers (regular agents never did in Y Social)"]
    counts = status(capsys, sqlite_url)
    assert counts["ticks_committed"] == 2 and counts["agents"] == 6
    with session_factory(sqlite_url).begin() as session:
        types = set(session.scalars(select(AgentRow.type)))
        interests = [i for row in session.scalars(select(AgentRow.interests)) for i in row]
    assert types == {"llama3.2"}  # the config's llm_agents
    assert set(interests) <= set(json.loads(CLASSIC_CONFIG.read_text())["agents"]["interests"])
    assert {r.get("model") for r in llm_stub.state.requests} == {"llama3.2"}


def test_a_population_file_and_follow_graph_start_the_run(ray_session, llm_stub, sqlite_url, tmp_path, capsys):
    graph = tmp_path / "graph.csv"
    graph.write_text("0,1\n1,0\n4,2\n")
    code, _, err = ysim(capsys, "run", "--population", str(POPULATION), "--follow-graph", str(graph),
                        "--db", sqlite_url, "--llm-url", llm_stub.url, "--ticks", "1")
    assert code == 0, err
    expected = load_population(POPULATION)
    with session_factory(sqlite_url).begin() as session:
        stored = list(session.scalars(select(AgentRow).order_by(AgentRow.agent_id)))
        follows = [(f.tick, f.follower_id, f.followee_id) for f in session.scalars(
            select(FollowRow).where(FollowRow.tick < 0).order_by(FollowRow.id))]
    assert [(a.name, a.agent_class, a.interests, a.archetype) for a in stored] == \
        [(a.name, a.agent_class, a.interests, a.archetype) for a in expected]
    ids = [a.agent_id for a in stored]
    assert follows == [(-1, ids[0], ids[1]), (-1, ids[1], ids[0]), (-1, ids[4], ids[2])]
    assert status(capsys, sqlite_url)["agents"] == 5


def test_a_web_app_config_finds_its_population_next_to_it(ray_session, llm_stub, sqlite_url, tmp_path, capsys):
    for path in (WEB_CLIENT_CONFIG, POPULATION):
        shutil.copy(path, tmp_path / path.name)
    code, _, err = ysim(capsys, "run", "--config", str(tmp_path / WEB_CLIENT_CONFIG.name), "--db", sqlite_url,
                        "--llm-url", llm_stub.url, "--ticks", "1")
    assert code == 0, err
    assert "memory_embedding_model" in err and "stress_reward" in err  # memory itself is carried out (issue 25)
    assert status(capsys, sqlite_url)["agents"] == 5  # forum5.json, named "forum5" in the config


@pytest.mark.parametrize("make_args, message", [
    (lambda tmp: ["--population", str(tmp / "missing.json")], "missing.json: cannot read"),
    (lambda tmp: ["--population", str(POPULATION), "--agents", "3"], "--agents 3 and --population (5 agents)"),
    (lambda tmp: ["--population", str(_bad_population(tmp))], r"agents[1]: age: 'old' must be an integer"),
    (lambda tmp: ["--population", str(_population_with_recsys(tmp, "Magic"))],
     "agent 'a': rec_sys: 'Magic' is not one of CommonInterests, CommonUserInterests, ContentRecSys"),
    (lambda tmp: ["--agents", "3", "--follow-graph", str(SAMPLE_GRAPH)], "line 3: '0,3': agent index 3 is outside 0..2"),
])
def test_bad_population_input_is_one_line_and_writes_nothing(tmp_path, capsys, make_args, message):
    db = tmp_path / "x.db"
    code, _, err = ysim(capsys, "run", *make_args(tmp_path), "--db", f"sqlite:///{db}")
    errors = [line for line in err.splitlines() if not line.startswith("warning: ")]  # forum5's page warns
    assert code == 1 and len(errors) == 1 and errors[0].startswith("error: ") and message in errors[0], err
    assert not db.exists()


def _bad_population(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"agents": [{"name": "a", "email": "a@x"}, {"name": "b", "email": "b@x", "age": "old"}]}))
    return path


def _population_with_recsys(tmp_path, name):
    path = tmp_path / "recsys.json"
    path.write_text(json.dumps({"agents": [{"name": "a", "email": "a@x", "rec_sys": name}]}))
    return path


def test_news_feeds_and_prompts_from_the_command_line(ray_session, llm_stub, sqlite_url, tmp_path, capsys):
    """Y Social's rss_feeds.json and prompts.json, given as options: pages post their feeds' articles
    and the LLM agents are prompted with Y Social's templates."""
    from tests.ysocial_files import NEWS_FEEDS, PROMPTS

    config = tmp_path / "run.yaml"
    config.write_text("simulation: {hourly_activity: {0: 0.5, 1: 0.5}, actions_likelihood: {post: 1.0, share: 1.0}}\n")
    code, _, err = ysim(capsys, "run", "--config", str(config), "--news-feeds", str(NEWS_FEEDS), "--prompts",
                        str(PROMPTS), "--db", sqlite_url, "--llm-url", llm_stub.url, "--agents", "4", "--ticks", "2")
    assert code == 0, err
    counts = status(capsys, sqlite_url)
    assert counts["agents"] == 4 + 2 and counts["news"] == 2 * 2  # two pages, two hours
    prompts = [m["content"] for r in llm_stub.state.requests for m in r["messages"]]
    assert any(p.startswith("You are a News broadcaster social page.") for p in prompts)  # Y Social's page_roleplay
    assert any(p.startswith("Write a tweet discussing a topic among your interests.") for p in prompts)


def test_a_web_app_file_as_written_runs_layered_with_ysim_settings(ray_session, llm_stub, sqlite_url, tmp_path,
                                                                   capsys):
    """Issue 23, items 1 and 2: a client file the YSocial web app wrote (null, -1, empty pools, the
    forum client's keys), unchanged, with a ysim file and --set on top."""
    web_file = tmp_path / WEB_APP_CONFIGS[0].name
    shutil.copy(WEB_APP_CONFIGS[0], web_file)
    shutil.copy(POPULATION, tmp_path / "forum100.json")  # the population the file names
    ysim_file = tmp_path / "ysim.yaml"
    ysim_file.write_text("llm: {concurrency: 5, url: http://127.0.0.1:9/v1}\nray: {batch_size: 2}\n")
    code, out, err = ysim(capsys, "run", "--config", str(web_file), "--config", str(ysim_file),
                          "--set", f"llm.url={llm_stub.url}", "--set", "simulation.hourly_activity.0=0.9",
                          "--db", sqlite_url, "--ticks", "1")
    assert code == 0, err
    [warning] = [line for line in err.splitlines() if line.startswith("warning: ignoring Y Social settings")]
    assert "agents.memory_reflection_cadence_rounds" in warning and "agents.memory_enabled" not in warning
    assert "agents.political_leaning (read by no Y Social client" in warning
    assert "servers.api (the Y Social server's address: ysim is client and server in one)" in warning
    with session_factory(sqlite_url).begin() as session:
        stored = session.scalars(select(RunRow.config)).one()
    assert stored["llm"]["concurrency"] == 5 and stored["ray"]["batch_size"] == 2  # the ysim file
    assert stored["llm"]["url"] == llm_stub.url  # --set over both files
    assert stored["simulation"]["hourly_activity"]["0"] == 0.9 and stored["simulation"]["hourly_activity"]["1"] == 0.021
    assert stored["agents"]["interests"] == [] and stored["simulation"]["client"] == "YClientWeb"
    assert stored["llm"]["max_tokens"] is None and stored["agents"]["follow_rec_sys"] == "PreferentialAttachment"
    assert stored["memory"]["enabled"] is True and stored["memory"]["prompt_max_chars"] == 1600  # the file's memory
    assert llm_stub.state.requests and not any("max_tokens" in r for r in llm_stub.state.requests)  # -1: no cap
    assert status(capsys, sqlite_url)["agents"] == 5
