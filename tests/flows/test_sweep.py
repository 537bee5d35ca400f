"""`ysim sweep`: variants x seeds, each member a child simulation flow run with its own database,
run concurrently in one process on the session's Ray against the LLM stub; its plan, its errors,
a member failing alone, a sweep killed midway and started again, and the `sweep` deployment."""

from __future__ import annotations

import asyncio
import csv
import os
from pathlib import Path

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterName
from prefect.flows import load_flow_from_entrypoint
from prefect.settings import PREFECT_API_URL
from sqlalchemy import select, text

from db import get_engine, normalize_url, session_factory
from db.models import TickRow
from flows.sweep_plan import SweepError, SweepSpec, parse_sweep, plan
from flows.cli import main
from tests.dumps import dump
from tests.flows.test_cli import ysim
from tests.flows.test_exactly_once import VerboseRun, wait_until_gone
from tests.flows.test_replay import without_outcomes
from tests.llm_stub import LLMStub

ROOT = Path(__file__).resolve().parents[2]
TICKS = 3
BASE = {"simulation": {"ticks": TICKS, "hourly_activity": {h: 0.5 for h in range(24)}},
        "agents": {"count": 8, "rule_based_share": 0.5}, "llm": {"max_retries": 0, "timeout_s": 5},
        "ray": {"batch_size": 4, "tick_retries": 0}}
VARIANTS = [{"name": "chrono", "set": {"agents.content_rec_sys": "ReverseChrono"}},
            {"name": "posting", "set": {"agents.content_rec_sys": "ReverseChrono"},
             "interventions": [{"at": 1, "set": {"simulation.actions_likelihood": {"post": 1.0}}, "note": "push"}]}]


def sweep_file(folder: Path, llm_url: str, **changes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"name": "trial", "base": {**BASE, "llm": {**BASE["llm"], "url": llm_url}}, "seeds": [1, 2],
            "variants": VARIANTS, "database": f"sqlite:///{folder}/{{variant}}-seed{{seed}}.db", **changes}
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def member_urls(folder: Path) -> dict[str, str]:
    return {f"{v}-seed{s}": f"sqlite:///{folder}/{v}-seed{s}.db" for v in ("chrono", "posting") for s in (1, 2)}


def committed(url: str) -> list[int]:
    with session_factory(url).begin() as session:
        return sorted(session.scalars(select(TickRow.tick)))


def test_the_plan_is_every_variant_at_every_grid_point_and_seed():
    spec = parse_sweep({"name": "s", "base": {"simulation": {"ticks": 2}}, "seeds": [3, 4],
                        "variants": [{"name": "a"}, {"name": "b", "set": {"agents.rule_based_share": 0.5}}],
                        "grid": {"feeds.feed_size": [5, 10]}})
    members = plan(spec).members
    assert [(m.variant, m.seed) for m in members] == [
        (f"{v}_feed_size-{f}", s) for v in ("a", "b") for f in (5, 10) for s in (3, 4)]
    by_name = {(m.variant, m.seed): m.config for m in members}
    assert by_name[("b_feed_size-10", 4)].feeds.feed_size == 10
    assert by_name[("b_feed_size-10", 4)].agents.rule_based_share == 0.5
    assert by_name[("a_feed_size-5", 3)].simulation.seed == 3
    assert by_name[("a_feed_size-5", 3)].database.url == "sqlite:///sweeps/s/a_feed_size-5-seed3.db"
    assert by_name[("a_feed_size-5", 3)].simulation.name == "s-a_feed_size-5-seed3"


@pytest.mark.parametrize(("change", "message"), [
    ({"variants": [{"name": "a"}, {"name": "a"}]}, "variants: 'a' names two variants"),
    ({"seeds": [1, 1]}, "seeds: [1, 1]: seed 1 is listed twice"),
    ({"variants": [{"name": "a"}, {"name": "b", "set": {"feeds.feed_size": 0}}]},
     "variant 'b' seed 1: feeds.feed_size: 0: Input should be greater than or equal to 1"),
    ({"database": "sqlite:///one.db"}, "database: 'sqlite:///one.db' must hold {variant} and {seed}"),
    ({"variants": [{"name": "a b"}]}, "variants[0].name: 'a b': must be letters, digits"),
    ({"variants": [{"name": "a", "set": {"agents.content_rec_sys": "Nope"}}]},
     "variant 'a' seed 1: agents.content_rec_sys: 'Nope' is not one of"),
    ({"colour": "red"}, "colour: 'red': Extra inputs are not permitted"),
])
def test_a_bad_sweep_file_is_refused_in_one_line_naming_the_variant_and_field(change, message, tmp_path, capsys):
    folder = tmp_path / "bad"
    path = sweep_file(folder, "http://127.0.0.1:9/v1", **change)
    code, out, err = ysim(capsys, "sweep", "--config", path)
    assert code == 1 and out == ""
    assert err.startswith(f"error: --config {path}: ") and message in err and len(err.splitlines()) == 1, err
    assert sorted(p.name for p in folder.iterdir()) == ["sweep.yaml"]  # no database made


@pytest.fixture(scope="module")
def reference(ray_session, tmp_path_factory):
    """An uninterrupted sweep (4 members at once) and its tables, member by member."""
    folder = tmp_path_factory.mktemp("sweep-reference")
    with LLMStub() as stub:
        path = sweep_file(folder, stub.url, name="reference")  # its own name: Prefect's runs of it are its own
        assert main(["sweep", "--config", str(path)]) == 0  # a module fixture has no capsys: real streams
        yield folder, stub.url, {name: dump(url) for name, url in member_urls(folder).items()}


def test_each_member_is_the_run_its_settings_make_alone_and_a_child_flow_run_of_the_sweep(
        reference, tmp_path, capsys):
    folder, stub_url, tables = reference
    assert tables["chrono-seed1"] != tables["chrono-seed2"]  # the seed is the member's
    assert tables["chrono-seed1"] != tables["posting-seed1"]  # and so are the variant's interventions
    for name, url in member_urls(folder).items():
        assert committed(url) == list(range(TICKS)), name
    # The same settings as a single `ysim run`: the same database, whatever ran beside it.
    for variant, seed, extra in (("chrono", 2, ()), ("posting", 1, ("--config", str(tmp_path / "posting.yaml")))):
        (tmp_path / "posting.yaml").write_text(yaml.safe_dump({"interventions": VARIANTS[1]["interventions"]}))
        (tmp_path / "base.yaml").write_text(yaml.safe_dump(BASE))
        alone = f"sqlite:///{tmp_path / f'{variant}-alone.db'}"
        code, _, err = ysim(capsys, "run", "--config", str(tmp_path / "base.yaml"), *extra, "--db", alone,
                            "--seed", str(seed), "--llm-url", stub_url,
                            "--set", "agents.content_rec_sys=ReverseChrono")
        assert code == 0, err
        assert without_outcomes(dump(alone)) == without_outcomes(tables[f"{variant}-seed{seed}"]), variant

    async def runs_under_the_sweep() -> tuple[list[str], list[str]]:
        """The sweep's task runs named for members, and the simulation flow runs whose parent task
        run (Prefect's stand-in for a subflow) is in the sweep's flow run."""
        async with get_client() as client:
            [sweep] = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=["sweep-reference"])))
            in_sweep = {t.id: t.name for t in await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[sweep.id])))}
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[f"reference-{n}" for n in member_urls(folder)])))
            return sorted(in_sweep.values()), sorted(run.name for run in runs if run.parent_task_run_id in in_sweep)

    task_runs, children = asyncio.run(runs_under_the_sweep())
    assert {name for name in task_runs if not name.startswith("ysim-simulation")} == set(member_urls(folder))
    assert children == sorted(f"reference-{name}" for name in member_urls(folder))


def test_a_finished_sweep_started_again_runs_nothing(reference, capsys):
    folder, _, tables = reference
    code, out, err = ysim(capsys, "sweep", "--config", folder / "sweep.yaml")
    assert code == 0, err
    assert "4 runs (2 variants x 2 seeds), 4 at once: 0 to start, 0 to resume, 4 finished." in err
    assert out == "Sweep reference: every run is finished; nothing to do.\n"
    assert {name: dump(url) for name, url in member_urls(folder).items()} == tables


def test_a_sweep_whose_population_changed_is_refused_against_its_stored_runs(reference, tmp_path, capsys):
    folder, stub_url, tables = reference
    changed = sweep_file(tmp_path / "changed", stub_url, base={**BASE, "agents": {**BASE["agents"], "count": 9},
                                                                "llm": {**BASE["llm"], "url": stub_url}},
                         database=f"sqlite:///{folder}/{{variant}}-seed{{seed}}.db")
    code, out, err = ysim(capsys, "sweep", "--config", changed)
    assert code == 1 and out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"error: --config {changed}: variant 'chrono' seed 1: agents.count: 9 differs from the "
                          "run stored in the database (8)"), err
    assert {name: dump(url) for name, url in member_urls(folder).items()} == tables


def test_a_sweep_killed_midway_and_started_again_finishes_every_member_once(reference, tmp_path, capsys):
    """One member at a time, so the kill finds one finished, one part-way and two not started."""
    _, stub_url, tables = reference
    folder = tmp_path / "killed"
    path = sweep_file(folder, stub_url, concurrency=1)
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "RAY_ADDRESS": ""}
    killed = VerboseRun(["sweep", "--config", str(path)], env)
    killed.wait_for(r"^\[chrono seed 2\] tick 0 \(day 0 hour 00\) committed")
    killed.kill(whole_tree=True)
    lingering: list = []
    wait_until_gone(killed, lingering)
    for process in lingering:
        process.kill()
    urls = member_urls(folder)
    before = {name: committed(url) for name, url in urls.items() if Path(url.removeprefix("sqlite:///")).exists()}
    assert before["chrono-seed1"] == list(range(TICKS)) and 1 <= len(before["chrono-seed2"]) < TICKS, before
    assert "posting-seed2" not in before

    code, out, err = ysim(capsys, "sweep", "--config", path, "--verbose")
    assert code == 0, err
    assert "1 finished" in err and "1 to resume" in err
    assert "[chrono seed 1] already finished" in err
    resumed_at = len(before["chrono-seed2"])
    assert f"[chrono seed 2] run 1: ticks {resumed_at} to {TICKS - 1}" in err  # not from tick 0 again
    for tick in range(resumed_at):
        assert f"[chrono seed 2] tick {tick} (day" not in err
    assert {name: without_outcomes(dump(url)) for name, url in urls.items()} == {
        name: without_outcomes(t) for name, t in tables.items()}  # the uninterrupted sweep's, member by member


def test_a_member_that_fails_stops_no_other_and_is_named(ray_session, llm_stub, tmp_path, capsys):
    folder = tmp_path / "failing"
    variants = [VARIANTS[0], {"name": "offline", "set": {"llm.url": "http://127.0.0.1:9/v1"}}]
    path = sweep_file(folder, llm_stub.url, variants=variants, seeds=[1])
    code, out, err = ysim(capsys, "sweep", "--config", path)
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: 1 of 2 members failed: offline seed 1 (") and "Run the sweep again" in last, err
    assert committed(f"sqlite:///{folder}/chrono-seed1.db") == list(range(TICKS))


def test_compare_sweep_puts_every_member_under_its_variant_and_seed(reference, tmp_path, capsys):
    folder, stub_url, _ = reference
    out = tmp_path / "compared"
    code, stdout, err = ysim(capsys, "compare", "--sweep", folder / "sweep.yaml", "--out", out)
    assert code == 0, err
    assert stdout.startswith(f"Statistics of 4 runs (2 variants x 2 seeds) in {out}: index.html"), stdout
    with open(out / "measures" / "measures.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(row["variant"], row["seed"]) for row in rows} == {(v, s) for v in ("chrono", "posting") for s in "12"}
    # A sweep not run yet is refused naming its first member, and nothing is written.
    unrun = sweep_file(tmp_path / "unrun", stub_url)
    code, stdout, err = ysim(capsys, "compare", "--sweep", unrun, "--out", tmp_path / "nothing")
    assert code == 1 and stdout == "" and len(err.splitlines()) == 1
    assert err.startswith(f"error: --sweep {unrun}: chrono seed 1: "), err
    assert not (tmp_path / "nothing").exists()


@pytest.mark.postgres
def test_a_sweep_into_postgresql_schemas_gives_each_member_the_rows_it_has_in_sqlite(reference, llm_stub,
                                                                                   postgres_url, tmp_path, capsys):
    """Members in schemas of one PostgreSQL database (made by ysim), equal to the SQLite sweep's."""
    _, _, tables = reference
    schemas = {seed: f"trial_chrono_{seed}" for seed in (1, 2)}
    with get_engine(normalize_url(postgres_url)).begin() as connection:
        for schema in schemas.values():
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    template = f"{postgres_url}{'&' if '?' in postgres_url else '?'}options=-csearch_path%3D{{sweep}}_{{variant}}_{{seed}}"
    path = sweep_file(tmp_path / "pg", llm_stub.url, variants=[VARIANTS[0]], database=template)
    code, _, err = ysim(capsys, "sweep", "--config", path)
    assert code == 0, err
    for seed in schemas:
        url = template.format(sweep="trial", variant="chrono", seed=seed)
        assert committed(url) == list(range(TICKS))
        assert without_outcomes(dump(url)) == without_outcomes(tables[f"chrono-seed{seed}"])
    with get_engine(normalize_url(postgres_url)).begin() as connection:
        runs = [connection.execute(text(f"SELECT count(*) FROM {schema}.runs")).scalar() for schema in schemas.values()]
        for schema in schemas.values():
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    assert runs == [1, 1]  # one run in each member's schema


def test_the_sweep_deployment_is_a_sweep_flow_with_a_valid_plan():
    deployments = {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    sweep = deployments["sweep"]
    flow = load_flow_from_entrypoint(str(ROOT / sweep["entrypoint"]))
    assert flow.name == "ysim-sweep"
    parameters = flow.validate_parameters(sweep["parameters"])
    assert isinstance(parameters["spec"], SweepSpec)
    planned = plan(parameters["spec"])
    assert len(planned.members) == 6 and planned.variants == ["chrono", "popular"]
    with pytest.raises(SweepError):
        parse_sweep({**sweep["parameters"]["spec"], "seeds": []})
