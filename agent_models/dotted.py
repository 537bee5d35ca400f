"""Setting a value at a dotted path (`agents.age.min`) inside a configuration held as nested dicts.

Shared by `--set`, layered configuration files (flows.config_loader) and interventions
(`RunConfig.at_tick`). Where the path passes through a setting the data does not hold yet, that
setting starts from `defaults` (the configuration model's defaults), so `agents.age.min=30` keeps
the default `max`.
"""

from __future__ import annotations

import copy
from typing import Any


class DottedPathError(ValueError):
    """The path runs through a value that is not a mapping of settings."""


def set_dotted(data: dict[str, Any], dotted: str, value: Any, defaults: dict[str, Any]) -> None:
    """Set `dotted` in `data` (in place) to `value`."""
    parts = dotted.split(".")
    container: Any = data
    for depth, part in enumerate(parts[:-1]):
        key = existing_key(container, part)
        if key not in container:
            container[key] = _default_at(defaults, parts[:depth + 1])
        container = container[key]
        if not isinstance(container, dict):  # else validation names the section that is not a mapping
            if depth == 0:
                return
            raise DottedPathError(f"{dotted}: {'.'.join(parts[:depth + 1])} is {container!r:.60}, "
                                  f"not a mapping of settings to set {parts[depth + 1]!r} in")
    container[existing_key(container, parts[-1])] = value


def existing_key(container: dict[Any, Any], part: str) -> Any:
    """The container's own key that `part` names (a YAML file's `3:` is the int 3), else `part`."""
    return next((key for key in container if str(key) == part), part)


def _default_at(defaults: dict[str, Any], parts: list[str]) -> Any:
    """A copy of the default value at `parts`; an empty mapping where there is none."""
    value: Any = defaults
    for part in parts:
        if not isinstance(value, dict) or (key := existing_key(value, part)) not in value:
            return {}
        value = value[key]
    return copy.deepcopy(value) if isinstance(value, dict) else {}
