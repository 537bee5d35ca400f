"""The platform single-agent calls act on: a run in a database, opened once per process.

Y Social's functions reach a server at `agent_data.base_url`; ysim's reach a run in a database.
Code written for Y Social names no database, so the platform comes from the environment unless
the caller opened one (`open_platform(config)`, or `init_ray(config=...)`):

- `YSIM_DB`: the database URL (default `sqlite:///ysim.db`, in the working directory);
- `YSIM_LLM_URL` / `YSIM_LLM_MODEL`: an OpenAI-compatible server and its model. Without a URL
  the embedded demo model is started on the first call that needs an LLM and stopped when the
  process exits.

A database with no run gets one, created on first use; one that holds a run is used with the
run's stored configuration (seed, recommenders, prompts), only the LLM server taken from the
environment. `Platform.register` is Y Social's `/register`.
"""

from __future__ import annotations

import atexit
import logging
import os
from contextlib import ExitStack
from dataclasses import dataclass

from sqlalchemy import select

from agent_models import AgentData, RunConfig
from agent_models.agent_factory import ConfigLike, run_config_from
from db import absolute_url, create_schema, queries, session_factory
from db.converters import row_to_agent
from db.models import AgentRow
from tasks.embedded_llm import NOTICE, embedded_llm
from tasks.llm_client import EMBEDDED_MODEL_NAME, resolve_api_key, served_model
from tasks.run_state import find_run, storable_config

DB_ENV, LLM_URL_ENV, LLM_MODEL_ENV = "YSIM_DB", "YSIM_LLM_URL", "YSIM_LLM_MODEL"
DEFAULT_DB_URL = "sqlite:///ysim.db"

log = logging.getLogger("ysim")


@dataclass(frozen=True)
class Platform:
    """A run in a database, opened for single-agent calls: what Y Social's server is to a script."""

    run_id: int
    config: RunConfig

    @property
    def db_url(self) -> str:
        return self.config.database.url

    def register(self, agent: AgentData) -> AgentData:
        """`agent` as a member of this run (Y Social's `/register`): stored, with its `agent_id`.

        Registering a name the run already has returns the stored agent, as Y Social does.
        """
        with session_factory(self.db_url).begin() as session:
            row = session.scalar(select(AgentRow).where(AgentRow.run_id == self.run_id, AgentRow.name == agent.name))
            if row is None:
                [agent_id] = queries.register_agents(session, self.run_id, [agent])
                row = session.get(AgentRow, agent_id)
            return row_to_agent(row)


_default: Platform | None = None
_embedded = ExitStack()  # the embedded LLM server this process started, stopped at exit
_stop_at_exit = False


def open_platform(config: ConfigLike | None = None, db_url: str | None = None) -> Platform:
    """The run in `db_url` (default: the configuration's database), created empty if there is none.

    `config` is a `RunConfig` or a configuration dict (ysim's or Y Social's); None means the
    environment's (module docstring). The platform becomes the default of every single-agent
    call and of `wrap_agent_data`.
    """
    global _default
    run_config = run_config_from(config) if config is not None else environment_config()
    # Absolute here, where the caller's working directory is: Ray workers open the file too.
    url = absolute_url(db_url if db_url is not None else run_config.database.url)
    run_config = run_config.model_copy(update={"database": run_config.database.model_copy(update={"url": url}),
                                               "llm": resolve_api_key(run_config.llm)})
    create_schema(url)
    with session_factory(url).begin() as session:
        run = queries.latest_run(session)
        run_id = run.id if run is not None else queries.create_run(
            session, name=run_config.simulation.name, seed=run_config.simulation.seed,
            total_ticks=run_config.simulation.ticks, config=storable_config(run_config), agents=[])
    _default = Platform(run_id, run_config)
    return _default


def default_platform() -> Platform:
    """The platform opened last in this process, else the environment's, opened now."""
    return _default if _default is not None else open_platform()


def environment_config() -> RunConfig:
    """The configuration the environment names: the stored run's, if the database holds one."""
    url = absolute_url(os.environ.get(DB_ENV) or DEFAULT_DB_URL)
    stored = find_run(url)
    config = RunConfig.model_validate(stored.config) if stored is not None else RunConfig()
    llm = config.llm.model_copy(update={"url": os.environ.get(LLM_URL_ENV) or None,
                                        "model": os.environ.get(LLM_MODEL_ENV) or config.llm.model,
                                        "embedded": False})
    return config.model_copy(update={"database": config.database.model_copy(update={"url": url}), "llm": llm})


def with_llm(platform: Platform) -> Platform:
    """`platform` with an LLM server to ask: the embedded model started now when it names none,
    and the server's model found when it names no model. Becomes the default if `platform` was."""
    global _default, _stop_at_exit
    llm = platform.config.llm
    if llm.cache_only or (llm.url and llm.model):
        return platform
    if not llm.url:
        log.warning(NOTICE)
        url = _embedded.enter_context(embedded_llm(llm.embedded_parallel, platform.config.simulation.seed,
                                                   llm.embedded_startup_timeout_s))
        if not _stop_at_exit:
            atexit.register(_embedded.close)
            _stop_at_exit = True
        llm = llm.model_copy(update={"url": url, "model": EMBEDDED_MODEL_NAME, "embedded": True})
    else:
        llm = llm.model_copy(update={"model": served_model(llm)})
    opened = Platform(platform.run_id, platform.config.model_copy(update={"llm": llm}))
    if _default is platform:
        _default = opened
    return opened
