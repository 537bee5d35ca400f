"""Two runs' configurations side by side: the keys they differ in, and labels that tell them apart."""

from __future__ import annotations

import json
from collections.abc import Mapping
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
