"""The code on docs/migrating.md runs, and the `ysim` command lines of the docs use options ysim has.

The page's ```python blocks run in order in one namespace, in a directory holding the Y Social
files the page names (copies of tests/fixtures/ysocial, with `servers.llm` pointed at the stub
LLM server), on the session's Ray, with the environment the page sets (YSIM_DB, YSIM_LLM_URL,
YSIM_LLM_MODEL) and no platform opened before. None imports `y_client`: every snippet of PR #21
runs on ysim with its imports changed.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sqlite3
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from flows.cli import app
from tests.ysocial_files import CLASSIC_CONFIG, NEWS_FEEDS, POPULATION, PROMPTS, YSOCIAL

PAGE = Path(__file__).parents[2] / "docs" / "migrating.md"


def blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", page.read_text(), re.S | re.M)


def _ysocial_directory(directory: Path, llm_url: str) -> None:
    """The files a Y Social user has, as the page names them."""
    config = json.loads(CLASSIC_CONFIG.read_text())
    config["servers"]["llm"] = llm_url
    (directory / "config.json").write_text(json.dumps(config))
    shutil.copy(PROMPTS, directory / "prompts.json")
    shutil.copy(POPULATION, directory / "population.json")
    shutil.copy(NEWS_FEEDS, directory / "rss_feeds.json")
    shutil.copytree(YSOCIAL / "feeds", directory / "feeds")
    (directory / "graph.csv").write_text("0,1\n1,2\n2,0\n3,0\n")  # forum5.json's agents by index


def test_the_python_snippets_run(ray_session, llm_stub, tmp_path, monkeypatch, capsys):
    from tasks import platform_env

    snippets = blocks(PAGE, "python")
    assert not any(re.search(r"^from y_client[.\w]* import", code, re.M) for code in snippets)
    _ysocial_directory(tmp_path, llm_stub.url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(platform_env.DB_ENV, "sqlite:///ysim.db")  # relative, as the page shows it
    monkeypatch.setenv(platform_env.LLM_URL_ENV, llm_stub.url)
    monkeypatch.setenv(platform_env.LLM_MODEL_ENV, "stub-model")
    monkeypatch.setattr(platform_env, "_default", None)  # no platform from an earlier test
    namespace: dict = {"__name__": "migrating"}
    for number, code in enumerate(snippets, 1):
        exec(compile(code, f"docs/migrating.md python block {number}", "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"10 posts: {list(range(5, 15))}"  # With Ray: one new post id per agent, in order
    assert out[1] == "AgentData user1 25 Independent"  # Pattern 3's converted agent
    assert out[2] == "2 comments, [['#climate'], []]"
    assert out[3].startswith("Speedup: ") and out[3].endswith("x")  # Step 4, the seed's line
    assert out[4].endswith(" True")  # open_platform: the script's own database

    # Everything the snippets posted is in the environment's database (ysim.db in the working
    # directory, the platform of every call before open_platform); the stub always answers.
    db = sqlite3.connect(tmp_path / "ysim.db")
    names = dict(db.execute("SELECT id, name FROM agents"))
    assert sorted(names.values()) == sorted(f"user{i}" for i in range(10))  # user1 is one agent throughout
    per_author: dict[str, int] = {}
    for author, comment_to in db.execute("SELECT author_id, comment_to FROM posts"):
        if comment_to is None:
            per_author[names[author]] = per_author.get(names[author], 0) + 1
    # user1: Before, After, With Ray, Pattern 1, Pattern 2, Pattern 4, A (agent.post), B (twice), C;
    # user4-6: With Ray, A's parallel call and Step 4's two sides (A's agent_data_list)
    assert per_author == {"user0": 1, "user1": 10, "user2": 2, "user3": 2, "user4": 4, "user5": 4, "user6": 4,
                          "user7": 1, "user8": 1, "user9": 1}
    assert db.execute("SELECT count(*) FROM posts WHERE comment_to IS NOT NULL").fetchone()[0] == 5
    assert {t for (t,) in db.execute("SELECT DISTINCT tick FROM posts")} == {1}
    assert ray_session.is_initialized()  # the session's Ray, which the page's shutdown_ray did not start


@pytest.mark.parametrize("name", ["migrating.md", "cluster.md", "troubleshooting.md"])
def test_the_ysim_command_lines_use_real_options(name):
    page = PAGE.parent / name
    lines = []
    for block in blocks(page, "bash"):
        lines += [line.split("#")[0] for line in block.replace("\\\n", " ").splitlines() if line.startswith("ysim ")]
    if name != "troubleshooting.md":
        assert lines
    for line in lines:
        words = shlex.split(line)[1:]
        sub = typer.main.get_command(app)
        while isinstance(sub, TyperGroup):  # `ysim db upgrade`: down to the command
            sub, words = sub.commands[words[0]], words[1:]
        known = {opt for param in sub.params for opt in param.opts}
        used = [w for w in words if w.startswith("--")]
        assert set(used) <= known, f"{name}: {line!r}: {set(used) - known} are not options of that command"
