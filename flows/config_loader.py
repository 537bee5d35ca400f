"""Building a run's `RunConfig`: from a YAML/JSON file, command-line overrides, and a stored run.

A file is ysim's own configuration or a Y Social client configuration (classic `config.json` or
one the YSocial web app wrote), which is translated; the Y Social settings ysim does not carry out
are named once in a `YSocialConfigWarning`. Errors become `ConfigError` with one line that names
the field, the value and what is allowed.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agent_models import RunConfig, YSocialConfigError, from_ysocial, is_ysocial_config
from agent_models.dotted import DottedPathError, set_dotted
from agent_models.run_config import HOURS_PER_DAY, FieldError
from db import absolute_url


class ConfigError(ValueError):
    pass


# Half of a UTF-16 surrogate pair: JSON and YAML escapes can make one; it is not text, and no database stores it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem of a pydantic error, as `field: value: what is allowed`."""
    err = exc.errors()[0]
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if isinstance(cause := err.get("ctx", {}).get("error"), FieldError):  # a check across fields
        return f"{cause}{more}"
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{_show_key(part)}"
                    for part in err["loc"]).lstrip(".") or "configuration"
    value = err.get("input")
    shown = f"{value!r:.80}" if not isinstance(value, dict) else "{...}"
    message = err["msg"].removeprefix("Value error, ")
    return f"{where}: {shown}: {message}{more}"


def load_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"--config: {path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"--config: {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                          f"{str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--config: {path} must hold a mapping of sections, got {type(data).__name__}")
    _check_plain(data, f"--config: {path}")
    if is_ysocial_config(data):
        return _from_ysocial(data, path)
    return _resolve_files(data, path.parent)


def _check_plain(value: Any, origin: str, keys: tuple[Any, ...] = (), seen: tuple[int, ...] = ()) -> None:
    """What a run can store as JSON, and nothing else, refused naming the key: YAML's dates, binary,
    sets and aliases inside their own anchor, NaN and infinity, and text no database takes."""
    where = f"{origin}: {'.'.join(map(_show_key, keys))}"
    if isinstance(value, (dict, list)):
        if id(value) in seen:
            raise ConfigError(f"{where}: refers to itself (a YAML alias inside its own anchor)")
        for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
            if problem := _scalar_problem(key):
                raise ConfigError(f"{where}{'.' if keys else ''}{key!r:.80}: key {problem}")
            _check_plain(item, origin, (*keys, key), (*seen, id(value)))
    elif problem := _scalar_problem(value):
        raise ConfigError(f"{where}: {value!r:.80}: {problem}")


def _scalar_problem(value: Any) -> str | None:
    """Why a key or value cannot be stored with the run as JSON, or None."""
    if not isinstance(value, (str, int, float, bool, type(None))):
        return f"expected text, a number, true/false or null, got {type(value).__name__}"
    if isinstance(value, float) and not math.isfinite(value):
        return "a number must be finite (JSON has no NaN or infinity)"
    if isinstance(value, str) and "\x00" in value:  # PostgreSQL refuses it, and so do file names
        return "contains a NUL character (0x00); text may hold any other"
    if isinstance(value, str) and _SURROGATE.search(value):
        return "holds half of a surrogate pair (an escape in \\ud800-\\udfff), which is not text"
    return None


def _show_key(key: Any) -> str:
    """A key as a field path shows it: as written when that is printable, else its repr (one line)."""
    text = str(key)
    return text if text and text.isprintable() else repr(key)


def _from_ysocial(data: dict[str, Any], path: Path) -> dict[str, Any]:
    try:
        translation = from_ysocial(data)
    except YSocialConfigError as exc:
        raise ConfigError(f"--config: {path}: {exc}") from None
    replace(translation, reasons={_show_key(k): why for k, why in translation.reasons.items()}).warn()  # one line
    config = translation.config
    population = config.get("agents", {}).get("population")
    if isinstance(population, str) and not Path(population).suffix:
        # The YSocial web app names the population ("forum100") of the file next to the config.
        config["agents"]["population"] = f"{population}.json"
    return _resolve_files(config, path.parent)


def _resolve_files(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Population, follow-graph and feed-list paths in a configuration file are relative to that
    file; `prompts` may name a Y Social `prompts.json`, which is read in."""
    agents = data.get("agents")
    if isinstance(agents, dict):
        for key in ("population", "follow_graph", "news_feeds"):
            if isinstance(agents.get(key), str) and not Path(agents[key]).is_absolute():
                agents[key] = str((base / agents[key]).resolve())
    if isinstance(data.get("prompts"), str):
        data["prompts"] = load_prompts(base / data["prompts"])
    return data


def load_prompts(path: Path) -> dict[str, str]:
    """A Y Social `prompts.json` (or ysim prompts in that format): key -> template."""
    try:
        prompts = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"prompts: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"prompts: {path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"prompts: {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(prompts, dict):
        raise ConfigError(f"prompts: {path} must hold an object of prompt templates, got {type(prompts).__name__}")
    for key, template in prompts.items():  # templates that are not text are left to validation to name
        for text in (key, template):
            if isinstance(text, str) and (problem := _scalar_problem(text)):
                raise ConfigError(f"prompts.{_show_key(key)}: {text!r:.80}: {problem}")
    return prompts


def load_files(paths: Sequence[Path]) -> dict[str, Any]:
    """Each file read as `load_file` reads it, a later file overriding an earlier one setting by
    setting: its sections merge into theirs, and a setting it gives replaces the earlier value whole
    (`simulation.actions_likelihood` from ysim.yaml is the run's whole action mix, not a blend)."""
    merged: dict[str, Any] = {}
    for path in paths:
        merged = merge_sections(merged, load_file(path))
    return merged


def merge_sections(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """`second` layered on `first`: a section (a mapping) merges setting by setting, anything else
    is replaced whole."""
    merged = dict(first)
    for name, value in second.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **value}
        else:
            merged[name] = value
    return merged


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """`--set KEY=VALUE` items as dotted key -> value, the value read as YAML (`5`, `true`, `null`,
    `[a, b]`, `{post: 1}`) and held to what a configuration file may hold."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        parts = key.split(".")
        if not sep or len(parts) < 2 or not all(part.strip() for part in parts):
            raise ConfigError(f"--set: {item!r:.80} is not KEY=VALUE with a dotted KEY such as llm.concurrency=64")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {key}: {text!r:.80} is not a YAML value: {str(exc).splitlines()[0]}") from None
        _check_plain(value, "--set", tuple(parts))
        overrides[key] = value
    return overrides


def with_values(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with each dotted path in `values` set (`parse_set`'s result; a None is
    set too: `--set llm.url=null` means the embedded model). A path may reach inside a setting
    (`agents.age.min`, `simulation.actions_likelihood.post`): the rest of that setting is the
    base's value, else the default."""
    data = json.loads(json.dumps(base))  # deep copy
    defaults = RunConfig().model_dump(mode="json")
    for dotted, value in values.items():
        try:
            set_dotted(data, dotted, value, defaults)
        except DottedPathError as exc:
            raise ConfigError(str(exc)) from None
    return data


def build(base: dict[str, Any], overrides: dict[str, Any]) -> RunConfig:
    """`base` with dotted-path `overrides` (None values are skipped: an option not given) validated
    as a RunConfig."""
    data = with_values(base, {key: value for key, value in overrides.items() if value is not None})
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def with_absolute_database(config: RunConfig) -> RunConfig:
    """`config` with a relative SQLite path made absolute here, in the driver, so every Ray worker
    (whatever its working directory) opens the same file."""
    url = absolute_url(config.database.url)
    if url == config.database.url:
        return config
    return config.model_copy(update={"database": config.database.model_copy(update={"url": url})})


def total_ticks(days: int | None, ticks: int | None) -> int | None:
    if days is not None and ticks is not None:
        raise ConfigError(f"--days {days} and --ticks {ticks}: give one of them, not both")
    if days is not None:
        if days < 1:
            raise ConfigError(f"--days: {days}: must be at least 1")
        return days * HOURS_PER_DAY
    return ticks

