"""Runs' configurations side by side: the keys they differ in, and labels that tell them apart
(two runs for `ysim compare`'s side-by-side page, any number of variants for its statistics)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

ABSENT = "(absent)"
# Keys that differ between any two runs without saying how the runs differ (where they are
# stored, which port a local LLM server had): never used to label a run.
INCIDENTAL_KEYS = ("database.url", "llm.url")


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys (`agents.content_rec_sys`); lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, tuple[str, str]]]:
    """(key, (value in a, value in b)) for every dotted key whose values differ, by key; values
    as JSON, `(absent)` where a configuration lacks the key."""
    flat_a, flat_b = flatten(a), flatten(b)
    rows = []
    for key in sorted(flat_a.keys() | flat_b.keys()):
        if _compared(flat_a, key) != _compared(flat_b, key):
            rows.append((key, (_shown(flat_a, key), _shown(flat_b, key))))
    return rows


def varying(configs: Sequence[Mapping[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """(key, (value in each configuration)) for every dotted key whose values are not all equal,
    by key; values shown as in `differences`."""
    flats = [flatten(config) for config in configs]
    rows = []
    for key in sorted(set().union(*flats)):
        if len({_compared(flat, key) for flat in flats}) > 1:
            rows.append((key, tuple(_shown(flat, key) for flat in flats)))
    return rows


def telling_labels(diff: list[tuple[str, tuple[str, ...]]]) -> list[str] | None:
    """Labels that tell the configurations of `varying` apart: `short=value` for the first key
    that separates them, and further keys (joined by ", ") while some are still alike; None when
    no key tells them all apart (incidental keys are never used)."""
    telling = [(key, values) for key, values in diff if key not in INCIDENTAL_KEYS]
    if not telling:
        return None
    count = len(telling[0][1])
    chosen: list[tuple[str, ...]] = []
    for key, values in telling:
        if _distinct([*chosen, values]) > _distinct(chosen):  # the key separates some that were alike
            chosen.append(tuple(f"{key.rsplit('.', 1)[-1]}={value}" for value in values))
        if _distinct(chosen) == count:
            return [", ".join(parts) for parts in zip(*chosen, strict=True)]
    return None


def _distinct(columns: list[tuple[str, ...]]) -> int:
    """How many configurations these columns of values tell apart."""
    return len(set(zip(*columns, strict=True))) if columns else 1


def labels(names: tuple[str, str], diff: list[tuple[str, tuple[str, str]]]) -> tuple[str, str]:
    """Readable labels for two runs: their database names, or where those are alike, the first
    configuration value that tells them apart (`content_rec_sys=Random`), or else A and B."""
    if names[0] != names[1]:
        return names
    telling = [(key, values) for key, values in diff if key not in INCIDENTAL_KEYS]
    if telling:
        key, values = telling[0]
        short = key.rsplit(".", 1)[-1]
        return f"{short}={values[0]}", f"{short}={values[1]}"
    return f"{names[0]} (A)", f"{names[1]} (B)"


def _compared(flat: Mapping[str, Any], key: str) -> str | None:
    return json.dumps(flat[key], sort_keys=True) if key in flat else None


def _shown(flat: Mapping[str, Any], key: str) -> str:
    if key not in flat:
        return ABSENT
    value = flat[key]
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
