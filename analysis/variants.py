"""Which runs of a comparison are one variant: runs whose stored configurations are equal once the
settings that do not change the simulated world are left out (the seed, the run's name, where the
database, the LLM server and Ray are, timeouts). A variant's label is the setting that tells it
apart from the others (`content_rec_sys=Random`), or the name the caller gave.

`group(runs)` reads each run's stored seed and configuration; `assign_variants` is the pure rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis import configs
from analysis.data import UnknownRunError, reading
from db import display_url
from db.models import RunRow

# Settings left out when deciding whether two runs are one variant: they differ between the seeds
# of a sweep without changing what is simulated. Exact dotted keys, and whole sections.
IGNORED_KEYS = frozenset({"simulation.seed", "simulation.name", "llm.url", "llm.api_key", "llm.api_key_secret",
                          "llm.embedded", "llm.cache_only", "llm.timeout_s", "llm.embedded_startup_timeout_s"})
IGNORED_SECTIONS = ("database.", "ray.")
FALLBACK_LABEL = "variant {number}"  # variants no setting tells apart


@dataclass(frozen=True, slots=True)
class ComparedRun:
    """A run to compare: its database and id, and its variant and seed (None: the variant found by
    `group`, the seed stored with the run)."""

    db_url: str
    run_id: int
    variant: str | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class GroupedRun:
    db_url: str
    url: str  # password masked
    run_id: int
    variant: str
    seed: int


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    runs: tuple[GroupedRun, ...]
    settings: tuple[tuple[str, str], ...]  # (key, value) of the settings that tell the variants apart

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(run.seed for run in self.runs)


def outcome_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration as dotted keys, without IGNORED_KEYS and IGNORED_SECTIONS."""
    return {key: value for key, value in configs.flatten(config).items()
            if key not in IGNORED_KEYS and not key.startswith(IGNORED_SECTIONS)}


def assign_variants(run_configs: Sequence[Mapping[str, Any]], given: Sequence[str | None]) -> list[str]:
    """Each run's variant: its given name, else the label of its group of equal `outcome_settings`
    (the setting telling the groups apart, else `variant 1`, `variant 2`, ... in order of first
    appearance). A label that is also a given name gets ` (2)` (` (3)`, ...) added."""
    if len(run_configs) != len(given):
        raise ValueError(f"expected one variant name (or None) per run: {len(run_configs)} runs, {len(given)} names")
    keys: dict[str, int] = {}
    groups: list[int | None] = []
    representatives: list[dict[str, Any]] = []
    for config, name in zip(run_configs, given, strict=True):
        if name is not None:
            groups.append(None)
            continue
        settings = outcome_settings(config)
        key = json.dumps(settings, sort_keys=True, default=str)
        if key not in keys:
            keys[key] = len(representatives)
            representatives.append(settings)
        groups.append(keys[key])
    automatic = (configs.telling_labels(configs.varying(representatives)) if len(representatives) > 1 else None) \
        or [FALLBACK_LABEL.format(number=i + 1) for i in range(len(representatives))]
    taken = {name for name in given if name is not None}
    unique = [_unused(label, taken) for label in automatic]
    return [name if name is not None else unique[group] for name, group in zip(given, groups, strict=True)]


def group(runs: Sequence[ComparedRun]) -> list[Variant]:
    """The runs as variants, in the order their first run comes; each run's seed is its given one,
    else the one stored with it. Raises UnknownRunError for a run the database does not hold and
    DatabaseUnavailableError for a database that cannot be read."""
    if not runs:
        raise ValueError("expected at least one run to compare")
    stored = [_stored(run.db_url, run.run_id) for run in runs]
    names = assign_variants([config for _, config in stored], [run.variant for run in runs])
    grouped = [GroupedRun(run.db_url, display_url(run.db_url), run.run_id, name,
                          run.seed if run.seed is not None else seed)
               for run, (seed, _), name in zip(runs, stored, names, strict=True)]
    order = list(dict.fromkeys(names))
    firsts = [outcome_settings(stored[names.index(name)][1]) for name in order]
    telling = configs.varying(firsts) if len(firsts) > 1 else []
    telling = [(key, values) for key, values in telling if key not in configs.INCIDENTAL_KEYS]
    return [Variant(name, tuple(run for run in grouped if run.variant == name),
                    tuple((key, values[i]) for key, values in telling))
            for i, name in enumerate(order)]


def _stored(db_url: str, run_id: int) -> tuple[int, dict[str, Any]]:
    with reading(db_url) as session:
        row = session.get(RunRow, run_id)
        if row is None:
            raise UnknownRunError(f"{display_url(db_url)} holds no run {run_id}")
        return row.seed, dict(row.config)


def _unused(label: str, taken: set[str]) -> str:
    candidate, number = label, 2
    while candidate in taken:
        candidate, number = f"{label} ({number})", number + 1
    return candidate
