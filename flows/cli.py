"""The `ysim` command line: `ysim run`, `replay`, `status`, `db upgrade`, and `report` / `compare`.

Every failure the user can cause (a bad option, configuration, database URL or LLM server)
ends in one line on stderr and a non-zero exit, before the database is touched.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import signal
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer._click.exceptions import ClickException  # typer vendors click; no public alias
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:  # imported where used: `ysim --help` does not load pandas and matplotlib
    from analysis.variants import ComparedRun, Variant

app = typer.Typer(add_completion=False, help="ysim: LLM-agent social-media simulations on Prefect and Ray.")
console = Console(stderr=True, soft_wrap=True)


class UserError(Exception):
    """A problem with the user's input or environment, reported in one line."""


@app.command()
def run(
    config: Annotated[Optional[list[Path]], typer.Option(
        "--config", help="Run configuration (YAML or JSON; ysim's or Y Social's). Repeatable: later files "
                         "override earlier ones setting by setting.")] = None,
    set_values: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Set one field, e.g. --set llm.concurrency=64 (repeatable; validated like the file, "
                      "and applied after every --config).")] = None,
    agents: Annotated[Optional[int], typer.Option("--agents", help="Agents generated at the start.")] = None,
    days: Annotated[Optional[int], typer.Option("--days", help="Total length in simulated days.")] = None,
    ticks: Annotated[Optional[int], typer.Option("--ticks", help="Total length in ticks (hours).")] = None,
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (default sqlite:///ysim.db).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of every random draw.")] = None,
    llm_url: Annotated[Optional[str], typer.Option("--llm-url", help="OpenAI-compatible base URL.")] = None,
    llm_model: Annotated[Optional[str], typer.Option("--llm-model", help="Model name on that server.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Agents per task run.")] = None,
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Ray cluster to join.")] = None,
    population: Annotated[Optional[Path], typer.Option(
        "--population", help="Y Social population JSON: its agents start the run instead of generated ones.")] = None,
    follow_graph: Annotated[Optional[Path], typer.Option(
        "--follow-graph", help="CSV of follower,followee agent indices followed before the first tick.")] = None,
    max_tokens_total: Annotated[Optional[int], typer.Option(
        "--max-tokens-total", help="Token budget: stop cleanly at the first tick boundary at or past it.")] = None,
    prompts: Annotated[Optional[Path], typer.Option(
        "--prompts", help="Y Social prompts.json: its templates replace ysim's, key by key.")] = None,
    news_feeds: Annotated[Optional[Path], typer.Option(
        "--news-feeds", help="Y Social rss_feeds.json: one news page per feed (local RSS/Atom files).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="One line per phase and per tick, no bar.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output; the summary only.")] = False,
) -> None:
    """Run a simulation, or resume the one the database holds, up to its total length.

    --config takes ysim's YAML/JSON or a Y Social client configuration (config.json, or one the
    YSocial web app wrote); Y Social settings ysim does not carry out are named in a warning.
    Several --config files layer (ysocial.json, then ysim.yaml); --set KEY=VALUE goes on top, and
    the options (--db, --seed, ...) on top of that.
    """
    started = time.perf_counter()
    _one_output_mode(verbose, quiet)
    _start_prefect_server_early()
    from agent_models import FollowGraphError, PopulationError
    from agent_models.news_feeds import NewsFeedError
    from agent_models.prompts import PromptError
    from db import DatabaseURLError, normalize_url
    from flows import config_loader
    from flows.resume import fields, given_keys, resume
    from tasks.run_state import (
        DatabaseUnavailableError, EmptyGroupError, UnknownRecommenderError, check_intervention_groups,
        check_recommenders, find_run,
    )

    try:
        length = config_loader.total_ticks(days, ticks)
        base = config_loader.with_values(_load_with_warnings(config or []),
                                         config_loader.parse_set(set_values or []))
        options = {"simulation.ticks": length, "simulation.seed": seed, "agents.count": agents,
                   "database.url": db, "llm.url": llm_url, "llm.model": llm_model,
                   "ray.batch_size": batch_size, "ray.address": ray_address,
                   "agents.population": str(population.resolve()) if population else None,
                   "agents.follow_graph": str(follow_graph.resolve()) if follow_graph else None,
                   "llm.max_tokens_total": max_tokens_total,
                   "agents.news_feeds": str(news_feeds.resolve()) if news_feeds else None}
        overrides = {key: value for key, value in options.items() if value is not None}
        if prompts:
            base = {**base, "prompts": config_loader.load_prompts(prompts)}
        cfg = config_loader.build(base, overrides)
        _warn_skipped_actions(cfg)
        check_recommenders(cfg)
        check_intervention_groups(cfg)
        normalize_url(cfg.database.url)
        if cfg.agents.population or cfg.agents.follow_graph or cfg.agents.news_feeds:
            # Checked before the database is opened, also when it holds a run to resume: a bad file
            # is refused with the database untouched, never silently ignored.
            cfg = _with_starting_population(cfg, agents)
        stored = find_run(cfg.database.url)
        if stored is not None:
            # The options and the file's fields as given (the API key too: never stored, it comes
            # back with the configuration), resumed by the rule the simulation flow applies.
            keys = given_keys(base) | set(overrides)
            total = cfg.simulation.ticks if "simulation.ticks" in keys else stored.total_ticks
            resumed = resume(stored.config, {**fields(cfg, keys), "simulation.ticks": total,
                                             "database.url": cfg.database.url}, stored.next_tick)
            for line in resumed.kept:
                console.print(Text.assemble(("warning:", "yellow"), f" {line}"), highlight=False)
            cfg = resumed.config
            if stored.next_tick >= total:
                console.print(f"Run {stored.run_id} is finished: {stored.ticks_committed} of {total} ticks "
                              f"committed. Pass a larger --ticks or --days to extend it.")
                return
            console.print(f"Resuming run {stored.run_id} at tick {stored.next_tick} of {total}.")
    except (config_loader.ConfigError, DatabaseURLError, UnknownRecommenderError, DatabaseUnavailableError,
            PopulationError, FollowGraphError, NewsFeedError, PromptError, EmptyGroupError) as exc:
        raise UserError(str(exc)) from None
    summary = _run_with_services(cfg, (verbose, quiet))
    _print_summary(summary, time.perf_counter() - started)


@app.command()
def replay(
    source: Annotated[str, typer.Option("--from", help="Database of the run to replay.")],
    db: Annotated[str, typer.Option("--db", help="New database for the replayed run.")],
    set_values: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Change one setting from the first tick, e.g. --set feeds.feed_size=5 (repeatable; from a "
                      "later tick: ysim fork).")] = None,
    llm_url: Annotated[Optional[str], typer.Option(
        "--llm-url", help="A changed replay may ask this server what the cache cannot answer.")] = None,
    llm_model: Annotated[Optional[str], typer.Option("--llm-model", help="Model name on that server.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="One line per phase and per tick, no bar.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output; the summary only.")] = False,
) -> None:
    """Re-run a stored run into a new database from its LLM response cache, with no LLM server.

    The replay ends with the same contents as the original. With --set it is a fork: every
    cached answer that still applies is reused, and with --llm-url the rest is asked of a server.
    """
    started = time.perf_counter()
    _one_output_mode(verbose, quiet)
    _start_prefect_server_early()
    from db import DatabaseURLError
    from flows import config_loader
    from tasks.run_state import DatabaseUnavailableError

    try:
        original = _source_run(source, db)
        overrides: dict[str, Any] = {"database.url": db, "llm.cache_only": llm_url is None,
                                     "llm.url": llm_url, "llm.model": llm_model}
        # As long as the original ran: its stored configuration keeps the length it started with, and
        # a run resumed with more ticks (`ysim run --ticks N`) records the new length in the run row.
        as_run = {**original.config, "simulation": {**original.config.get("simulation", {}),
                                                    "ticks": original.total_ticks}}
        forked = config_loader.with_values(as_run, config_loader.parse_set(set_values or []))
        cfg = config_loader.build(forked, overrides)
        if _copy_answers_or_resume(source, db, "replay", f"Replaying run {original.run_id} of {source}"):
            _seed_people(source, cfg)
    except (config_loader.ConfigError, DatabaseURLError, DatabaseUnavailableError) as exc:
        raise UserError(str(exc)) from None
    summary = _run_with_services(cfg, (verbose, quiet))
    _print_summary(summary, time.perf_counter() - started)


@app.command()
def fork(
    source: Annotated[str, typer.Option("--from", help="Database of the run to fork.")],
    at: Annotated[int, typer.Option("--at", help="The last tick the fork shares with the source.")],
    db: Annotated[str, typer.Option("--db", help="New database for the fork.")],
    set_values: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Change one setting from tick AT + 1, e.g. --set feeds.feed_size=5 (repeatable).")] = None,
    interventions: Annotated[Optional[Path], typer.Option(
        "--interventions", help="YAML with `interventions:` (docs/experiments.md), each after tick AT.")] = None,
    llm_url: Annotated[Optional[str], typer.Option(
        "--llm-url", help="Ask this server what the cache cannot answer (none: answers only from the cache).")] = None,
    llm_model: Annotated[Optional[str], typer.Option("--llm-model", help="Model name on that server.")] = None,
    ticks: Annotated[Optional[int], typer.Option("--ticks", help="The fork's length (default: the source's).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="One line per phase and per tick, no bar.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output; the summary only.")] = False,
) -> None:
    """A new run whose state through tick AT is exactly the source's, going on with changes.

    Ticks 0 to AT are replayed from the source's LLM response cache (no LLM call); from tick AT + 1
    the --set values and the --interventions entries apply (an intervention at AT + 1 records them).
    Cached answers that still apply are reused after AT too; with --llm-url the rest is asked of a
    server, without it the fork stops at the first answer the cache lacks. The source is only read.
    """
    started = time.perf_counter()
    _one_output_mode(verbose, quiet)
    _start_prefect_server_early()
    from db import DatabaseURLError, display_url
    from flows import config_loader
    from tasks.run_state import (
        DatabaseUnavailableError, EmptyGroupError, UnknownRecommenderError, check_intervention_groups,
        check_recommenders,
    )

    try:
        original = _source_run(source, db)
        if not 0 <= at < original.next_tick:
            raise UserError(f"--at: {at}: the source run has committed ticks 0 to {original.next_tick - 1}; a fork "
                            "shares one of them and the ticks before it")
        added = [{"at": at + 1, "set": changes, "note": f"fork of {display_url(source)} at tick {at}"}
                 for changes in [config_loader.parse_set(set_values or [])] if changes]
        added += _fork_interventions(interventions, at) if interventions else []
        base = {**original.config, "interventions": [*original.config.get("interventions", []), *added]}
        if ticks is not None and ticks <= at:
            raise UserError(f"--ticks: {ticks}: a fork at tick {at} runs at least {at + 1} ticks")
        cfg = config_loader.build(base, {"database.url": db, "llm.cache_only": llm_url is None, "llm.url": llm_url,
                                         "llm.model": llm_model,
                                         "simulation.ticks": ticks if ticks is not None else original.total_ticks})
        check_recommenders(cfg)
        check_intervention_groups(cfg)
        copied = _start_fork(source, db, at, cfg, f"Forking run {original.run_id} of {source} at tick {at}")
    except (config_loader.ConfigError, DatabaseURLError, DatabaseUnavailableError, UnknownRecommenderError,
            EmptyGroupError) as exc:
        raise UserError(str(exc)) from None
    if copied and cfg.simulation.ticks == at + 1:  # nothing after the shared ticks: no Ray, no Prefect
        from tasks.run_state import status

        _print_summary(status(db), time.perf_counter() - started)
        return
    summary = _run_with_services(cfg, (verbose, quiet))
    _print_summary(summary, time.perf_counter() - started)


@app.command()
def sweep(
    config: Annotated[Path, typer.Option("--config", help="Sweep file: base configuration, variants, seeds "
                                                          "(docs/experiments.md).")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Each member's tick lines too.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output; the summary only.")] = False,
) -> None:
    """Run every variant of a sweep at every seed, several runs at once on one Ray and LLM server.

    Each (variant, seed) is a whole run with its own database. Run the same command again after a
    crash or Ctrl-C: finished members are skipped, the others resume at their first uncommitted
    tick. Compare the outcome with `ysim compare --sweep FILE --out DIR`.
    """
    started = time.perf_counter()
    _one_output_mode(verbose, quiet)
    _start_prefect_server_early()
    from flows.config_loader import ConfigError
    from flows.sweep import checked_sweep
    from tasks.run_state import DatabaseUnavailableError

    try:
        checked, states = checked_sweep(config)
    except (ConfigError, DatabaseUnavailableError) as exc:
        raise UserError(f"--config {config}: {exc}") from None
    counts = {kind: sum(s.state == kind for s in states) for kind in ("finished", "resume", "new")}
    console.print(f"Sweep {checked.name}: {len(states)} runs ({len(checked.variants)} variants x "
                  f"{len(checked.spec.seeds)} seeds), {checked.concurrency} at once: {counts['new']} to start, "
                  f"{counts['resume']} to resume, {counts['finished']} finished.", highlight=False)
    if counts["finished"] == len(states):
        print(f"Sweep {checked.name}: every run is finished; nothing to do.")
        return
    summary = _run_with_services(checked.members[0].config, (verbose, quiet), sweep=checked)
    for member in summary["members"]:
        print(f"{member['variant']} seed {member['seed']}: run {member.get('run_id')}, "
              f"{member.get('ticks_committed')}/{member.get('ticks_total')} ticks, {member.get('llm_calls', 0)} LLM "
              f"calls{' (already finished)' if member.get('already_finished') else ''}")
    print(f"Sweep {checked.name}: {len(summary['members'])} runs finished in {time.perf_counter() - started:.1f} s")


def _source_run(source: str, db: str) -> Any:
    """The run `--from` names, both database URLs checked first (a replay's and a fork's source)."""
    from db import normalize_url
    from tasks.run_state import find_run

    normalize_url(source)
    normalize_url(db)
    original = find_run(source)
    if original is None:
        raise UserError(f"--from: {source} holds no ysim run")
    return original


def _copy_answers_or_resume(source: str, db: str, kind: str, starting: str) -> bool:
    """A new replay or fork gets the source's LLM response cache (True); one `db` already holds resumes."""
    from tasks.run_state import find_run, seed_cache

    target = find_run(db)
    if target is None:
        copied = seed_cache(source, db)
        console.print(f"{starting} into {db} ({copied} cached answers).")
        return True
    console.print(f"Resuming the {kind} in {db} at tick {target.next_tick}.")
    return False


def _seed_people(source: str, cfg: Any) -> None:
    """A replay applies what the source's people did at the ticks the source applied it."""
    from tasks.run_state import seed_people

    copied = seed_people(source, cfg)
    if copied:
        console.print(f"{copied} submissions of the source's people copied, each due at the tick it was applied at.")


def _start_fork(source: str, db: str, at: int, cfg: Any, starting: str) -> bool:
    """A new fork copies the source's run as it stood after tick `at` (True); a source whose ticks
    carry no row marks (ysim before migration 0007) gets its LLM response cache copied, and ticks
    0 to `at` are replayed from it. A `db` that already holds the fork resumes."""
    from db.snapshot import NotCopyableError
    from tasks.run_state import copy_run_through, find_run

    if find_run(db) is not None:
        _copy_answers_or_resume(source, db, "fork", starting)  # says where it resumes
        return False
    try:
        copy_run_through(source, db, at, cfg)
    except NotCopyableError as exc:
        console.print(f"Cannot copy the source as of tick {at} ({exc}): its ticks 0 to {at} are replayed.",
                      highlight=False)
        _copy_answers_or_resume(source, db, "fork", starting)
        return False
    console.print(f"{starting} into {db}: its state through tick {at} copied (every table as it stood, the LLM "
                  "response cache whole).", highlight=False)
    return True


def _fork_interventions(path: Path, at: int) -> list[dict[str, Any]]:
    """The entries of an interventions file (YAML or JSON with `interventions:`, as in a run
    configuration), each after tick `at`."""
    from agent_models.interventions import tick_of
    from flows import config_loader

    entries = config_loader.load_file(path).get("interventions")
    if not isinstance(entries, list):
        raise config_loader.ConfigError(f"--interventions: {path} must hold `interventions:` with a list of entries")
    for position, entry in enumerate(entries):
        try:
            tick = tick_of(entry.get("at", -1)) if isinstance(entry, dict) else -1
        except ValueError as exc:
            raise config_loader.ConfigError(f"--interventions: {path}: interventions[{position}].at: {exc}") from None
        if tick <= at:
            raise config_loader.ConfigError(f"--interventions: {path}: interventions[{position}].at: tick {tick} is "
                                            f"not after the fork's tick {at}: a fork changes only what follows it")
    return entries


def _one_output_mode(verbose: bool, quiet: bool) -> None:
    if verbose and quiet:
        raise UserError("--verbose and --quiet: give one of them, not both")


def _start_prefect_server_early() -> None:
    """Start the local Prefect server (when no API is configured) before anything else: it boots
    while the command imports, checks its input and starts Ray (flows/prefect_api.py)."""
    from flows.prefect_api import start_early

    start_early()


@contextmanager
def _warnings_printed() -> Iterator[None]:
    """Print the warnings raised inside (unsupported Y Social settings, unknown keys) one per line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:  # a Text, not markup: brackets, colons and backslashes in file keys print as they are
        console.print(Text.assemble(("warning:", "yellow"), f" {warning.message}"), highlight=False)


def _warn_skipped_actions(cfg: Any) -> None:
    for action, reason in cfg.simulation.skipped_actions.items():
        console.print(f"[yellow]warning:[/yellow] action {action!r} is never drawn: {reason}", highlight=False)
    last = cfg.simulation.ticks - 1
    for position, intervention in enumerate(cfg.interventions):
        if intervention.tick > last:
            console.print(f"[yellow]warning:[/yellow] interventions[{position}] at tick {intervention.tick} is past "
                          f"the run's last tick ({last}): it applies if the run is extended", highlight=False)


def _load_with_warnings(paths: list[Path]) -> dict[str, Any]:
    from flows import config_loader

    with _warnings_printed():
        return config_loader.load_files(paths)


def _with_starting_population(cfg: Any, agents_option: int | None) -> Any:
    """Check the population file and follow graph now (one-line errors, nothing written) and
    size the run to the population."""
    from flows import config_loader
    from tasks.run_state import starting_population

    from agent_models.news_feeds import load_news_pages

    with _warnings_printed():
        population, _ = starting_population(cfg)
    if not cfg.agents.population:
        return cfg
    if cfg.agents.news_feeds:  # the feeds' pages are not part of the population's count
        population = population[:len(population) - len(load_news_pages(cfg.agents.news_feeds))]
    if agents_option is not None and agents_option != len(population):
        raise config_loader.ConfigError(f"--agents {agents_option} and --population ({len(population)} agents): "
                                        f"give one of them")
    if not population:
        raise config_loader.ConfigError(f"agents.population: {cfg.agents.population} holds no agents")
    return config_loader.build(cfg.model_dump(mode="json"), {"agents.count": len(population)})


def _run_with_services(cfg: Any, output: tuple[bool, bool], sweep: Any = None) -> dict[str, Any]:
    """Check the LLM, start a Prefect API if none is configured, run, and stop what was started.

    `cfg`'s run, or with `sweep` (a checked flows.sweep_plan.SweepPlan whose first member is `cfg`)
    the sweep flow over its members, on a Ray sized for them (flows.sweep.sweep_ray_settings).

    The LLM is checked before the database is touched: an unreachable server or a missing
    embedded model ends the command with the database as it was.
    """
    from contextlib import ExitStack

    from db import dispose_engines
    from flows.prefect_api import PrefectServerError, prefect_api, ready_in_background, stop_local_server
    from flows.ray_runner import RayUnreachableError, ensure_ray, shutdown_ray
    from flows.run_display import display
    from flows.services import served_model
    from flows.run_display import SweepLines
    from flows.simulation import listen, simulation_flow
    from flows.sweep import SweepFailedError, sweep_flow, sweep_ray_settings
    from tasks.embedded_llm import NOTICE, EmbeddedLLMError, model_path
    from tasks.llm_client import CacheMissError, LLMError, LLMUnavailableError, resolve_api_key
    from tasks.local_server import LocalServerError
    from tasks.ray_session import warm_workers

    with ExitStack() as stack:
        # Registered first, so it runs last, once Ray's workers (and their connections) are gone:
        # closing this process's connections lets SQLite checkpoint its WAL into the database file
        # and remove it, so that ysim.db alone holds the run (copied or opened read-only).
        stack.callback(dispose_engines)
        try:
            if cfg.llm.cache_only:
                pass  # a replay answers from the cache: no server to check
            elif cfg.llm.url and not cfg.llm.api_key_secret:  # a Secret block needs the Prefect API: the flow checks
                served_model(resolve_api_key(cfg.llm))
            else:
                model_path()
                console.print(f"[yellow]{NOTICE}[/yellow]")
            # The URL is known before the local server answers: Ray starts (and its workers
            # inherit the URL) while the server finishes booting.
            api_url, started_here = stack.enter_context(prefect_api(wait=False))
        except (LLMUnavailableError, EmbeddedLLMError, PrefectServerError) as exc:
            raise UserError(str(exc)) from None
        if started_here:
            console.print(f"Prefect API: started a local server at {api_url} for this run "
                          "(set PREFECT_API_URL to use your own server and UI).")
        ready = ready_in_background()  # the server's boot and first answer, while Ray starts
        owns_ray = False
        try:
            owns_ray = ensure_ray(cfg.ray if sweep is None else sweep_ray_settings(sweep))  # after the Prefect API
            # URL is set, so Ray workers inherit it
            if owns_ray:
                stack.callback(shutdown_ray)
                warm_workers()  # tick 0's workers import Prefect and ysim now, not in tick 0
        except RayUnreachableError as exc:
            raise UserError(str(exc)) from None
        if started_here:
            # This process is done with Prefect after the run: the server stops while Ray does
            # (after the logs and events still held here are sent), not after it at exit.
            # Registered last, so it runs first.
            stack.callback(stop_local_server, shutdown_ray if owns_ray else lambda: None)
        try:
            ready()
        except PrefectServerError as exc:
            raise UserError(str(exc)) from None
        try:
            shown = display(console, *output) if sweep is None else SweepLines(*output)
            with shown, listen(shown), _heartbeats(not started_here):
                return simulation_flow(cfg) if sweep is None else sweep_flow(sweep.spec)
        except SweepFailedError as exc:
            raise UserError(str(exc)) from None
        except CacheMissError as exc:
            raise UserError(f"{exc}; the ticks replayed so far are kept") from None
        except (LLMError, LocalServerError) as exc:  # LocalServerError: the embedded LLM server never came up
            raise UserError(f"{exc} (committed ticks are kept; run the same command again to resume)") from None


@contextmanager
def _heartbeats(wanted: bool) -> Iterator[None]:
    """The simulation flow run's Prefect heartbeats, only where something can watch them.

    A heartbeat lets a long-lived Prefect server mark a flow run whose process died as crashed.
    The local server started for this run lives and dies with the process, so it never could; and
    a sync flow run joins its heartbeat thread on exit, which sleeps in 1 s steps: up to a second
    between the last tick and the summary. A configured server keeps them.
    """
    if wanted:
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _print_summary(summary: dict[str, Any], wall_s: float) -> None:
    keys = ("run_id", "agents", "ticks_committed", "ticks_total", "posts", "comments", "reactions", "follows",
            "unfollows", "shares", "news", "votes", "opinion_updates", "agents_left", "llm_calls", "llm_errors", "llm_retried", "llm_cached", "prompt_tokens", "completion_tokens")
    width = max(map(len, keys))
    print("Simulation summary")
    for key in keys:
        print(f"  {key:<{width}}  {summary.get(key)}")
    print(f"  {'wall_time_s':<{width}}  {wall_s:.1f}")


db_app = typer.Typer(help="The database: create or upgrade its schema.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    db: Annotated[str, typer.Option("--db", help="Database URL.")] = "sqlite:///ysim.db",
) -> None:
    """Create the schema of a new database, or upgrade an existing one (runs of older ysim keep working)."""
    from db import DatabaseURLError, display_url, normalize_url
    from tasks.run_state import DatabaseUnavailableError, upgrade_schema

    try:
        normalize_url(db)
        before, after = upgrade_schema(db)
    except (DatabaseURLError, DatabaseUnavailableError) as exc:
        raise UserError(str(exc)) from None
    if before == after:
        print(f"{display_url(db)}: schema already at revision {after}")
    else:
        print(f"{display_url(db)}: schema upgraded from {before or 'empty'} to revision {after}")


@app.command()
def status(
    db: Annotated[str, typer.Option("--db", help="Database URL.")] = "sqlite:///ysim.db",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Counts for the run a database holds."""
    from db import DatabaseURLError
    from tasks.run_state import DatabaseUnavailableError, status as run_status

    try:
        counts = run_status(db)
    except (DatabaseURLError, DatabaseUnavailableError) as exc:
        raise UserError(str(exc)) from None
    if counts is None:
        raise UserError(f"--db: {db} holds no ysim run")
    if as_json:
        print(json.dumps(counts, sort_keys=True))
    else:
        for key, value in counts.items():
            print(f"{key}: {value}")


@app.command()
def interview(
    question: Annotated[str, typer.Argument(help="What to ask, in quotes.")],
    db: Annotated[str, typer.Option("--db", help="Database of the run.")] = "sqlite:///ysim.db",
    agent: Annotated[Optional[list[int]], typer.Option("--agent", help="An agent id (repeatable).")] = None,
    group: Annotated[Optional[str], typer.Option(
        "--group", help="Agents picked as interventions pick them, e.g. '{leaning: [left], fraction: 0.1}' "
                        "(docs/memory.md).")] = None,
    at: Annotated[Optional[int], typer.Option("--at", help="Ask them as they were after this tick "
                                                           "(default: the last committed).")] = None,
    llm_url: Annotated[Optional[str], typer.Option("--llm-url", help="The LLM server (default: the run's).")] = None,
    llm_model: Annotated[Optional[str], typer.Option("--llm-model", help="Model name on that server.")] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Tokens an answer may take.")] = 256,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per answer.")] = False,
) -> None:
    """Ask agents a question in character, as they were after a tick; answers are stored in `interviews`.

    Each agent answers with its persona, its opinions and memories as of that tick and what it wrote
    last. Nothing the simulation reads changes; asking the same again is answered from the run's cache.
    """
    import yaml
    from pydantic import ValidationError

    from agent_models.interventions import Selector
    from db import DatabaseURLError
    from tasks.interviews import InterviewError, interview as ask
    from tasks.llm_client import LLMError
    from tasks.run_state import DatabaseUnavailableError

    try:
        selector = Selector.model_validate(yaml.safe_load(group)) if group is not None else None
    except (yaml.YAMLError, ValidationError) as exc:
        raise UserError(f"--group: {group}: {' '.join(str(exc).split())[:200]}") from None
    try:
        answers = ask(db, question, agent_ids=agent or (), group=selector, at=at, llm_url=llm_url, llm_model=llm_model,
                      max_tokens=max_tokens)
    except (InterviewError, DatabaseURLError, DatabaseUnavailableError) as exc:
        raise UserError(str(exc)) from None
    except LLMError as exc:
        raise UserError(f"the LLM gave no answer: {' '.join(str(exc).split())}") from None
    for answer in answers:
        if as_json:
            print(json.dumps(dataclasses.asdict(answer), sort_keys=True))
        else:
            print(f"{answer.name} (agent {answer.agent_id}, tick {answer.tick}): "
                  f"{answer.answer if answer.answer is not None else '(no answer: ' + answer.outcome + ')'}")


@app.command("config-reference")
def config_reference(
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the page to this file (default: stdout).")] = None,
) -> None:
    """Print the configuration reference (docs/configuration.md), generated from the configuration model."""
    from flows.config_reference import render_markdown

    page = render_markdown()
    if out is None:
        print(page, end="")
        return
    try:
        out.write_text(page)
    except OSError as exc:
        raise UserError(f"--out: cannot write {out}: {exc.strerror}") from None


@app.command()
def report(
    db: Annotated[str, typer.Option("--db", help="Database URL of the run.")] = "sqlite:///ysim.db",
    run_id: Annotated[Optional[int], typer.Option(
        "--run", help="Run id (default: the database's latest run); also limits the table exports to it.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for index.html, plots/, tables/ and the graph.")] = ...,
) -> None:
    """Plots, a one-page HTML summary, CSV and Parquet exports of every table and the follow graph
    (GraphML) of a run, in --out."""
    from analysis.report import write_report

    started = time.perf_counter()
    chosen = _resolve_report_run(db, run_id, "--db", "--run")
    out_dir = _output_folder(out)
    with _report_errors("--db"):
        written = write_report(db, chosen, out_dir, export_run=run_id)
    rows = sum(t.rows for t in written.tables)
    print(f"Report of run {chosen} in {out_dir}: {written.page.name}, {len(written.plots)} plots in plots/, "
          f"{len(written.tables)} tables ({rows:,} rows) as CSV and Parquet in tables/, follow graph "
          f"({written.graph.nodes:,} agents, {written.graph.edges:,} follows) in {written.graph.path.name}; "
          f"{time.perf_counter() - started:.1f} s")


@app.command()
def compare(
    runs: Annotated[Optional[list[str]], typer.Argument(
        metavar="RUN", help="Database URLs of the runs, each its latest run (with two: RUN_A RUN_B, "
                               "--run-a/--run-b choose others).", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the pages, plots/ and measures/.")] = ...,
    run_id_a: Annotated[Optional[int], typer.Option("--run-a", help="Run id in RUN_A (default: its latest).")] = None,
    run_id_b: Annotated[Optional[int], typer.Option("--run-b", help="Run id in RUN_B (default: its latest).")] = None,
    label_a: Annotated[Optional[str], typer.Option(
        "--label-a", help="Name of the first run on the page (default: its database's name, or the setting "
                          "that tells the runs apart).")] = None,
    label_b: Annotated[Optional[str], typer.Option("--label-b", help="Name of the second run on the page.")] = None,
    sweep_file: Annotated[Optional[Path], typer.Option(
        "--sweep", help="A sweep file (ysim sweep --config): its runs, each under its variant and seed.")] = None,
) -> None:
    """Runs compared, in --out: their outcome measures with statistics over seeds, and two runs also
    side by side.

    Runs whose configurations differ only in the seed (and where they ran) are one variant; per
    variant, measures/ holds every run's measures per tick, their mean over the seeds with a 95 %
    interval, the final values and the differences from the first variant (Welch), and the
    statistics page shows them (index.html; with two runs, statistics/index.html).

    With two runs, RUN_A RUN_B (they may be the same database with --run-a/--run-b), index.html
    puts them side by side: the report's plots with one column per run, both headline tables and
    their configuration differences."""
    from analysis.variants import ComparedRun

    started = time.perf_counter()
    urls = runs or []
    if sweep_file is not None:
        if urls:
            raise UserError(f"RUN {urls[0]}: give the runs or --sweep, not both")
        choices = _sweep_runs(sweep_file)
        _compare_runs(choices, _output_folder(out), started)
        return
    if not urls:
        raise UserError("RUN: give the database URL of at least one run, or --sweep FILE")
    if len(urls) == 2:
        names = ("RUN_A", "RUN_B")
        ids, id_options = (run_id_a, run_id_b), ("--run-a", "--run-b")
    else:
        for option, value in (("--run-a", run_id_a), ("--run-b", run_id_b), ("--label-a", label_a),
                              ("--label-b", label_b)):
            if value is not None:
                raise UserError(f"{option} {value}: only with exactly two runs (RUN_A RUN_B); {len(urls)} given")
        names = tuple(f"RUN {number}" for number in range(1, len(urls) + 1))
        ids, id_options = (None,) * len(urls), ("--run",) * len(urls)
    choices = [ComparedRun(url, _resolve_report_run(url, run_id, name, option))
               for url, run_id, name, option in zip(urls, ids, names, id_options, strict=True)]
    if len(urls) != 2:
        _refuse_repeated_runs(choices, names)
    out_dir = _output_folder(out)
    # `--sweep FILE` (the sweep's runs, their variants and seeds) is to end in the same call.
    _compare_runs(choices, out_dir, started, labels=(label_a, label_b))


def _sweep_runs(path: Path) -> list[Any]:
    """The runs of the sweep file at `path`, each under its variant and seed; a UserError for a
    member whose database holds no run yet."""
    from analysis.variants import ComparedRun
    from flows.config_loader import ConfigError
    from flows.sweep_plan import load_sweep, plan

    try:
        members = plan(load_sweep(path)).members
    except ConfigError as exc:
        raise UserError(f"--sweep {path}: {exc}") from None
    return [ComparedRun(member.config.database.url,
                        _resolve_report_run(member.config.database.url, None,
                                            f"--sweep {path}: {member.label}", "--run"),
                        member.variant, member.seed)
            for member in members]


def _compare_runs(choices: list[ComparedRun], out_dir: Path, started: float,
                  labels: tuple[str | None, str | None] = (None, None)) -> None:
    """Write the comparison of `choices` (analysis.variants.ComparedRun, resolved) in `out_dir`, a
    folder `_output_folder` checked, and print its summary line: the statistics (index.html, plots/,
    measures/), or with two runs the side-by-side page (index.html and plots/; `labels`, else the
    runs' variants, name the runs, and labels name their variants too) and the statistics in
    statistics/."""
    from analysis.comparison import STATISTICS_DIR, write_statistics_comparison
    from analysis.report import RunChoice, write_comparison

    if len(choices) != 2:
        with _report_errors("RUN"):
            written = write_statistics_comparison(choices, out_dir)
        print(f"Statistics of {_runs_summary(written.variants)} in {out_dir}: {written.page.name}, "
              f"{len(written.plots)} plots in plots/, {len(written.tables)} tables as CSV and Parquet in measures/; "
              f"{time.perf_counter() - started:.1f} s")
        return
    # A label names the run's variant too; a run's own variant (a sweep's) labels it where none is given.
    named = [choice if label is None else replace(choice, variant=label)
             for choice, label in zip(choices, labels, strict=True)]
    first, second = (RunChoice(choice.db_url, choice.run_id, choice.variant) for choice in named)
    with _report_errors("RUN_A/RUN_B"):
        pair = write_comparison(first, second, out_dir, see_also=[(f"{STATISTICS_DIR}/index.html",
                                                                   "Outcome measures with statistics over seeds")])
        written = write_statistics_comparison(named, out_dir / STATISTICS_DIR,
                                              see_also=[(f"../{pair.page.name}", "The two runs side by side")])
    print(f"Comparison of run {first.run_id} and run {second.run_id} in {out_dir}: {pair.page.name}, "
          f"{len(pair.plots)} plots in plots/; statistics of {_runs_summary(written.variants)} in "
          f"{STATISTICS_DIR}/: {written.page.name}, {len(written.plots)} plots, {len(written.tables)} tables; "
          f"{time.perf_counter() - started:.1f} s")


def _refuse_repeated_runs(choices: list[ComparedRun], names: tuple[str, ...]) -> None:
    """A run named twice would count twice in its variant's statistics."""
    from db import normalize_url

    seen: dict[tuple[str, int], str] = {}
    for choice, name in zip(choices, names, strict=True):
        key = (normalize_url(choice.db_url), choice.run_id)
        if key in seen:
            raise UserError(f"{name}: {choice.db_url} run {choice.run_id} is {seen[key]} already")
        seen[key] = name


def _runs_summary(variants: Sequence[Variant]) -> str:
    """`6 runs (2 variants x 3 seeds)`, or with unequal counts `5 runs (2 variants, 2 to 3 seeds each)`."""
    counts = [len(variant.runs) for variant in variants]
    runs = f"{sum(counts)} run{'s' * (sum(counts) != 1)}"
    kinds = f"{len(counts)} variant{'s' * (len(counts) != 1)}"
    if min(counts) == max(counts):
        return f"{runs} ({kinds} x {counts[0]} seed{'s' * (counts[0] != 1)})"
    return f"{runs} ({kinds}, {min(counts)} to {max(counts)} seeds each)"


web_app = typer.Typer(help="The run's platform in a browser (docs/web.md).")
app.add_typer(web_app, name="web")


@web_app.callback(invoke_without_command=True)
def web(
    ctx: typer.Context,
    db: Annotated[str, typer.Option("--db", help="Database URL of the run.")] = "sqlite:///ysim.db",
    run_id: Annotated[Optional[int], typer.Option("--run", help="Run id (default: the database's latest run).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; beyond loopback it needs --password "
                                                     "or invitations (members only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8080,
    password: Annotated[Optional[str], typer.Option(
        "--password", envvar="YSIM_WEB_PASSWORD", show_envvar=True,
        help="Password every page asks for (HTTP Basic, any user name).")] = None,
    allow_signup: Annotated[bool, typer.Option(
        "--allow-signup", help="Anyone may register as a person in the run (else only with `ysim web invite`).")] = False,
    read_only: Annotated[bool, typer.Option("--read-only", help="Nobody registers, signs in or acts.")] = False,
    rate_limit: Annotated[int, typer.Option("--rate-limit", min=1, help="Actions per minute per person.")] = 20,
    max_chars: Annotated[int, typer.Option("--max-chars", min=1, max=100_000,
                                           help="Longest post, comment or share a person may send.")] = 1000,
    secret_key: Annotated[Optional[str], typer.Option(
        "--secret-key", envvar="YSIM_WEB_SECRET", show_envvar=True,
        help="Key that signs session cookies (default: a new one per start, which signs everyone out).")] = None,
) -> None:
    """The run's platform in a browser: timelines, the feeds agents were served, threads, profiles,
    hashtags and search, as of any committed tick, following the run as it goes on; people may join
    and act, through the inbox the run's ticks apply (docs/web.md)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from db import display_url
    from web.app import create_app
    from web.people import Access
    from web.security import ExposureError, check_exposure

    if read_only and allow_signup:
        raise UserError("--allow-signup: a --read-only site lets nobody register; give one of the two")
    try:
        members_only = check_exposure(host, password, allow_signup)
    except ExposureError as exc:
        raise UserError(str(exc)) from None
    chosen = _resolve_report_run(db, run_id, "--db", "--run")
    guarded = ("password required" if password else
               "members only: register with a token from `ysim web invite`" if members_only else "no password")
    people = ("read-only" if read_only else "anyone may join" if allow_signup else "people join by invitation")
    print(f"ysim web: run {chosen} of {display_url(db)} on http://{host}:{port}/ ({guarded}; {people}); "
          "Ctrl-C stops it", flush=True)
    access = Access(read_only=read_only, allow_signup=allow_signup, members_only=members_only,
                    actions_per_minute=rate_limit, max_chars=max_chars)
    uvicorn.run(create_app(db, chosen, password, access=access, secret_key=secret_key), host=host, port=port,
                log_level="warning")


@web_app.command("invite")
def web_invite(
    db: Annotated[str, typer.Option("--db", help="Database URL of the run.")] = "sqlite:///ysim.db",
    run_id: Annotated[Optional[int], typer.Option("--run", help="Run id (default: the database's latest run).")] = None,
    count: Annotated[int, typer.Option("--count", min=1, max=10_000, help="How many invitations.")] = 1,
    url: Annotated[str, typer.Option("--url", help="The site's address, for the links.")] = "http://127.0.0.1:8080",
    note: Annotated[str, typer.Option("--note", help="A note kept with them (whom they are for).")] = "",
) -> None:
    """Invitations to join the run as a person: one link each, each usable once (only a hash is kept)."""
    from db import session_factory
    from db.people import create_invites

    chosen = _resolve_report_run(db, run_id, "--db", "--run")
    if len(note) > 200:
        raise UserError(f"--note: {len(note)} characters; at most 200")
    with session_factory(db).begin() as session:
        tokens = create_invites(session, chosen, count, note)
    for token in tokens:
        print(f"{url.rstrip('/')}/signup?invite={token}")


def _resolve_report_run(db_url: str, run_id: int | None, db_option: str, run_option: str) -> int:
    """The run to report, or a UserError naming the option and its value."""
    from db import DatabaseURLError
    from analysis.data import NoRunError, UnknownRunError, resolve_run
    from tasks.run_state import DatabaseUnavailableError

    try:
        return resolve_run(db_url, run_id)
    except UnknownRunError as exc:
        raise UserError(f"{run_option} {run_id}: {exc}") from None
    except (DatabaseURLError, DatabaseUnavailableError, NoRunError) as exc:
        raise UserError(f"{db_option}: {exc}") from None


@contextmanager
def _report_errors(db_option: str) -> Iterator[None]:
    """What can still go wrong once the runs are resolved: the database goes away or cannot be
    read, or the output folder fills up."""
    from tasks.run_state import DatabaseUnavailableError

    try:
        yield
    except DatabaseUnavailableError as exc:
        raise UserError(f"{db_option}: {exc}") from None
    except OSError as exc:
        raise UserError(f"--out: {exc.filename or ''}: {exc.strerror or exc}") from None


def _output_folder(out: Path) -> Path:
    from analysis.report import OutputDirError, prepare_out_dir

    try:
        return prepare_out_dir(out)
    except OutputDirError as exc:
        raise UserError(f"--out: {exc}") from None


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Console entry point: every user error is one line on stderr and exit code 1 (2 for usage)."""
    # Prefect's INFO logs still reach its API (and UI); the terminal shows the progress bar.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    # Before anything imports Ray: a local Ray then keeps every address on 127.0.0.1.
    if not os.environ.get("RAY_ADDRESS"):
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    command = typer.main.get_command(app)
    try:
        command.main(args=argv if argv is not None else sys.argv[1:], prog_name="ysim", standalone_mode=False)
    except ClickException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        return 130
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


def entry_point() -> None:
    # SIGTERM (a scheduler, `kill`) unwinds like Ctrl-C, so helper servers and Ray are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    code = main()
    # The interpreter's exit then skips its garbage-collection passes over every object Prefect,
    # Ray, SQLAlchemy and openai created: 1.1 to 1.5 s after the summary, for nothing (the process
    # ends). Exit handlers still run (Prefect's, Ray's, the local server's stop), and objects
    # still go when their last reference does.
    gc.freeze()
    sys.exit(code)
