"""The code on docs/migrating.md runs, and the `ysim` command lines of the docs use options ysim has.

The page's ```python blocks run in order in one namespace, in a directory holding the Y Social
files the page names (copies of tests/fixtures/ysocial, with `servers.llm` pointed at the stub
LLM server), on the session's Ray.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
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
    snippets = blocks(PAGE, "python")
    assert len(snippets) >= 5
    _ysocial_directory(tmp_path, llm_stub.url)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "migrating"}
    for number, code in enumerate(snippets, 1):
        exec(compile(code, f"docs/migrating.md python block {number}", "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "AgentData user0 1"
    assert int(out[1].split()[0]) == 6  # every converted agent posted (the stub always answers)
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
