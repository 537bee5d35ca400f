"""docs/configuration.md is the generator's output, and the generator covers the whole configuration model."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from agent_models import RunConfig
from flows.cli import main
from flows.config_reference import render_markdown

PAGE = Path(__file__).parents[2] / "docs" / "configuration.md"


def _model_fields() -> dict[str, object]:
    """Every configuration key as the page should name it, walked from the model here, with its field."""
    fields = {}
    for name, field in RunConfig.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields.update({f"{name}.{key}": sub for key, sub in annotation.model_fields.items()})
        else:
            fields[name] = field
    return fields


def _page_rows(page: str) -> dict[str, list[str]]:
    """key -> the cells of its table row."""
    rows = {}
    for line in page.splitlines():
        if match := re.match(r"^\| `([^`]+)` \|", line):
            rows[match.group(1)] = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
    return rows


def _page_default(page: str, key: str, cell: str) -> object:
    if cell == "(below)":
        block = re.search(rf"Default of `{re.escape(key)}`:\n\n```json\n(.*?)\n```", page, re.S)
        assert block, f"{key}: its default is said to be below the table, but no block holds it"
        return json.loads(block.group(1))
    return json.loads(cell.strip("`"))


def _model_default(field) -> object:
    value = field.default_factory() if field.default_factory is not None else field.default
    assert value is not PydanticUndefined
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return json.loads(json.dumps(value))  # as JSON sees it: int keys become strings


def test_the_committed_page_is_the_generators_output():
    assert PAGE.read_text() == render_markdown(), (
        "docs/configuration.md is out of date with agent_models/run_config.py: run `make docs`")


def test_every_field_of_every_section_has_a_row_with_a_description():
    rows = _page_rows(render_markdown())
    fields = _model_fields()
    assert set(rows) == set(fields)
    assert len(fields) > 50  # the walk found the sections, not only the top level
    undocumented = sorted(key for key, field in fields.items() if not field.description)
    assert not undocumented, f"fields without a description: {undocumented}"


def test_the_defaults_on_the_page_are_the_models():
    """The first, middle and last field of each section, and every default shown below a table."""
    page = render_markdown()
    rows = _page_rows(page)
    fields = _model_fields()
    by_section: dict[str, list[str]] = {}
    for key in fields:
        by_section.setdefault(key.split(".")[0], []).append(key)
    picked = {k for keys in by_section.values() for k in (keys[0], keys[len(keys) // 2], keys[-1])}
    picked |= {key for key, cells in rows.items() if cells[2] == "(below)"}
    assert len(picked) >= 15
    for key in sorted(picked):
        assert _page_default(page, key, rows[key][2]) == _model_default(fields[key]), key


def test_the_command_writes_the_page(tmp_path, capsys):
    out = tmp_path / "configuration.md"
    assert main(["config-reference", "--out", str(out)]) == 0
    assert out.read_text() == render_markdown()
    assert main(["config-reference"]) == 0
    assert capsys.readouterr().out == render_markdown()
