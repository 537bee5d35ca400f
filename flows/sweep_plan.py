"""A sweep's plan: the sweep file (`ysim sweep --config sweep.yaml`) and the runs it expands to.

A sweep is a grid of variants times seeds. Each variant is the base run configuration with some
settings (`set`, dotted as in `--set`) and interventions added; `grid` multiplies the variants by
every combination of listed values. Each (variant, seed) is one member: a whole simulation run
with its own database, named by the `database` template. `SweepPlan.members()` builds and checks
every member's RunConfig before anything runs, so a bad variant is refused in one line naming it.

```yaml
name: feed-ranking
config: experiment.yaml          # ysim or Y Social configuration files (relative to this file)
base: {simulation: {ticks: 24}}  # and/or inline sections on top of them
seeds: [1, 2, 3]
variants:
  - name: chrono
    set: {agents.content_rec_sys: ReverseChrono}
  - name: popular
    set: {agents.content_rec_sys: ReverseChronoPopularity}
grid: {feeds.feed_size: [5, 10]} # optional: every variant at every combination
database: "sqlite:///sweeps/{sweep}/{variant}-seed{seed}.db"
concurrency: 6                   # members run at once (default: all)
```
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent_models import RunConfig
from db import sqlite_path
from flows.config_loader import ConfigError, build, describe_validation_error, load_file, load_files, merge_sections

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # it names files and Prefect flow runs
DEFAULT_DATABASE = "sqlite:///sweeps/{sweep}/{variant}-seed{seed}.db"
PLACEHOLDERS = ("{sweep}", "{variant}", "{seed}")


class SweepError(ConfigError):
    """A sweep file that cannot be run as written."""


class Variant(BaseModel):
    """One arm of the sweep: settings and interventions on top of the base configuration."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="Names the variant's databases, runs and rows in `ysim compare`.")
    set: dict[str, Any] = Field(default_factory=dict, description="Dotted settings, as `--set` takes them.")
    interventions: list[dict[str, Any]] = Field(
        default_factory=list, description="Added to the base configuration's interventions.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("must be letters, digits, '_', '.' or '-', starting with a letter or digit")
        return value


class SweepSpec(BaseModel):
    """The sweep file."""

    model_config = ConfigDict(extra="forbid")
    name: str
    config: list[str] = Field(default_factory=list, description="Run configuration files, layered in order.")
    base: dict[str, Any] = Field(default_factory=dict, description="Run configuration sections on top of them.")
    seeds: list[int] = Field(min_length=1)
    variants: list[Variant] = Field(default_factory=lambda: [Variant(name="base")], min_length=1)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    database: str = DEFAULT_DATABASE
    concurrency: int | None = Field(None, ge=1, description="Members run at once (default: all of them).")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return Variant._name(value)

    @field_validator("config", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int]) -> list[int]:
        repeated = sorted({seed for seed in value if value.count(seed) > 1})
        if repeated:
            raise ValueError(f"seed {repeated[0]} is listed twice: each seed runs once per variant")
        return value

    @field_validator("grid")
    @classmethod
    def _grid(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in value.items():
            if not values:
                raise ValueError(f"{key}: lists no value: a grid setting takes at least one")
        return value

    @model_validator(mode="after")
    def _distinct_names(self) -> "SweepSpec":
        names = [variant.name for variant in self.variants]
        repeated = next((name for name in names if names.count(name) > 1), None)
        if repeated is not None:
            raise ValueError(f"variants: {repeated!r} names two variants: each name is used once")
        missing = [p for p in ("{variant}", "{seed}") if p not in self.database]
        if missing:
            raise ValueError(f"database: {self.database!r} must hold {' and '.join(missing)}: each member "
                             "has a database of its own")
        return self


@dataclass(frozen=True, slots=True)
class Member:
    """One run of the sweep: a variant at a seed."""

    variant: str
    seed: int
    config: RunConfig

    @property
    def label(self) -> str:
        return f"{self.variant} seed {self.seed}"


@dataclass(frozen=True, slots=True)
class SweepPlan:
    """A checked sweep: its file, name, members (variants x seeds, in that order) and concurrency."""

    spec: SweepSpec
    name: str
    members: tuple[Member, ...]
    concurrency: int

    @property
    def variants(self) -> list[str]:
        return list(dict.fromkeys(member.variant for member in self.members))


def load_sweep(path: Path) -> SweepSpec:
    """The sweep file at `path`, its configuration files made absolute (they are relative to it)."""
    data = load_file(path)
    if not isinstance(data, dict):
        raise SweepError(f"--config: {path} must hold a mapping (name, seeds, variants, ...)")
    spec = parse_sweep(data)
    return spec.model_copy(update={"config": [str((path.parent / name).resolve()) for name in spec.config]})


def parse_sweep(data: dict[str, Any]) -> SweepSpec:
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise SweepError(f"sweep: {describe_validation_error(exc)}") from None


def plan(spec: SweepSpec) -> SweepPlan:
    """Every member's RunConfig, built and validated; a SweepError names the variant and field."""
    base = merge_sections(load_files([Path(name) for name in spec.config]), spec.base)
    members = []
    for variant in _expanded(spec):
        for seed in spec.seeds:
            data = {**base, "interventions": [*base.get("interventions", []), *variant.interventions]}
            settings = {**variant.set, "simulation.seed": seed,
                        "simulation.name": f"{spec.name}-{variant.name}-seed{seed}",
                        "database.url": spec.database.format(sweep=spec.name, variant=variant.name, seed=seed)}
            try:
                config = build(data, settings)
            except ConfigError as exc:
                raise SweepError(f"variant {variant.name!r} seed {seed}: {exc}") from None
            members.append(Member(variant.name, seed, config))
    urls = [member.config.database.url for member in members]
    if len(set(urls)) != len(urls):
        raise SweepError(f"database: {spec.database!r} gives two members one database")
    return SweepPlan(spec, spec.name, tuple(members), spec.concurrency or len(members))


def make_folders(sweep: SweepPlan) -> None:
    """The folders of the members' SQLite files (a sweep's go in a folder of their own)."""
    for member in sweep.members:
        if (path := sqlite_path(member.config.database.url)) is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _expanded(spec: SweepSpec) -> list[Variant]:
    """The variants times every combination of the grid's values, named `<variant>_<key>-<value>`."""
    if not spec.grid:
        return list(spec.variants)
    keys = list(spec.grid)
    expanded = []
    for variant in spec.variants:
        for values in itertools.product(*(spec.grid[key] for key in keys)):
            suffix = "_".join(f"{key.rsplit('.', 1)[-1]}-{_name_part(value)}" for key, value in zip(keys, values, strict=True))
            expanded.append(Variant(name=f"{variant.name}_{suffix}", set={**variant.set, **dict(zip(keys, values, strict=True))},
                                    interventions=variant.interventions))
    return expanded


def _name_part(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "", str(value)) or "x"
