"""Small real runs for the report tests: a generated population with opinions, an initial follow
graph, and a few ticks through the tick's real phase functions against the LLM stub."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

from agent_models import generate_population
from agent_models.population_file import save_population
from tasks import prepare_run
from tests.conftest import make_config
from tests.tasks.platform_fixture import run_tick_inline

ACTIONS = {"post": 0.3, "comment": 0.25, "read": 0.25, "follow": 0.2}


def make_run(db_url: str, llm_url: str, folder: Path, *, content_rec_sys: str = "ReverseChronoFollowersPopularity",
             agents: int = 8, ticks: int = 3, seed: int | None = None, surveys: list[dict] | None = None) -> int:
    """A committed run of `ticks` ticks in `db_url`; its id. Every agent holds opinions on two of
    its interests; agent i follows i+1 and i+2 before the first tick. `seed`: the run's
    `simulation.seed` (None: make_config's); the population is the same whatever the seed. `surveys`:
    the run's `surveys:` (asked by their ticks, as in a run)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    people = [dataclasses.replace(person, opinions={t: round(rng.random(), 3) for t in person.interests[:2]})
              for person in generate_population(make_config(db_url, llm_url, agents={"count": agents,
                                                            "content_rec_sys": content_rec_sys}), agents, 7)]
    population = save_population(people, folder / "population.json")
    graph = folder / "graph.csv"
    graph.write_text("".join(f"{i},{(i + step) % agents}\n" for i in range(agents) for step in (1, 2)))
    simulation = {"ticks": ticks, "actions_likelihood": ACTIONS} | ({} if seed is None else {"seed": seed})
    config = make_config(db_url, llm_url, simulation=simulation,
                         agents={"count": agents, "population": str(population), "follow_graph": str(graph),
                                 "content_rec_sys": content_rec_sys, "probability_of_secondary_follow": 0.5},
                         surveys=surveys or [])
    run = prepare_run.fn(config)
    for tick in range(ticks):
        run_tick_inline(config, run.run_id, tick)
    return run.run_id


RECOMMENDERS = ("ReverseChronoFollowersPopularity", "ReverseChrono")


def make_seed_runs(root: Path, llm_url: str, recommenders: tuple[str, ...] = RECOMMENDERS,
                   seeds: tuple[int, ...] = (1, 2, 3), ticks: int = 3,
                   surveys: list[dict] | None = None) -> list[tuple[str, int, str]]:
    """(recommender, seed, database URL) of one run per recommender and seed, each in its own
    SQLite file `root/<recommender>/seed-<seed>.db`, beside that recommender's population and
    follow graph (so a recommender's runs differ in their seed only)."""
    made = []
    for recommender in recommenders:
        for seed in seeds:
            url = f"sqlite:///{root / recommender / f'seed-{seed}.db'}"
            make_run(url, llm_url, root / recommender, content_rec_sys=recommender, ticks=ticks, seed=seed,
                     surveys=surveys)
            made.append((recommender, seed, url))
    return made
