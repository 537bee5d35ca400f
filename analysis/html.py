"""The report's one-page HTML summary (`index.html`), for one run or two compared side by side.

The page is self-contained: plots are embedded as base64 `data:` URIs and the styles are inline,
so it opens offline and can be mailed as one file. Elements carry stable ids for tests and
scripts: `summary` (the headline table, one column per run), `surveys` (each survey's answers per
tick asked, when a run has any), `config` (one run's configuration)
or `config-diff` (the keys two runs' configurations differ in), `plot-<name>` on each figure's
image, `tables` (the exported files of a report).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from jinja2 import Environment

from analysis.data import RunReport

# (summary key, row label) of the headline table, in order; "ticks" shows committed / total.
HEADLINE = (
    ("run_id", "run id"), ("seed", "seed"), ("agents", "agents"), ("ticks", "ticks committed / total"),
    ("posts", "posts"), ("comments", "comments"), ("shares", "shares"), ("news", "news posts"),
    ("reactions", "reactions"), ("follows", "follows"), ("unfollows", "unfollows"), ("votes", "votes"),
    ("opinion_updates", "opinion updates"), ("agents_left", "agents left"), ("actions", "actions"),
    ("actions_failed", "actions failed (unparseable, rejected, failed)"), ("llm_calls", "LLM calls"),
    ("prompt_tokens", "prompt tokens"), ("completion_tokens", "completion tokens"), ("tokens", "tokens"),
    ("llm_errors", "LLM errors"), ("llm_retried", "LLM calls retried"), ("llm_cached", "LLM calls from the cache"),
)


@dataclass(frozen=True, slots=True)
class PlotImage:
    name: str  # stable: the image's id is plot-<name>, its file plots/<name>.png
    title: str
    description: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True, slots=True)
class ExportLink:
    """A file of the report next to the page, for the page's list of exports."""

    label: str
    rows: int | None
    paths: tuple[str, ...]  # relative to the page
    kept: str = ""  # which rows it holds, in words (`exports.TableFiles.kept`)


STYLE = """<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1400px;
         padding: 0 1em; color: #222; }
  h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
  table { border-collapse: collapse; margin: 0.5em 0; }
  th, td { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; vertical-align: top; }
  td.number { text-align: right; font-variant-numeric: tabular-nums; }
  th { background: #f4f4f4; }
  figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
  figcaption { color: #555; font-size: 0.9em; }
  pre { background: #f8f8f8; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
  code { font-size: 0.95em; }
  nav a { margin-right: 1em; }
</style>
"""  # shared with the statistics page (`statistics_page`)

# The top of every analysis page: title, style, and links to its sibling pages (`see_also`).
PAGE_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
""" + STYLE + """</head>
<body>
<h1>{{ title }}</h1>
{% for href, text in see_also %}<p class="see-also"><a href="{{ href }}">{{ text }}</a></p>{% endfor %}
"""

# The page's plots, embedded (`plots`: PlotImage), each linking to its file in plots/.
PLOT_FIGURES = """{% for plot in plots %}
<figure id="figure-{{ plot.name }}">
  <img id="plot-{{ plot.name }}" alt="{{ plot.title }}" src="{{ plot.data_uri }}">
  <figcaption>{{ plot.description }} (<a href="plots/{{ plot.name }}.png">plots/{{ plot.name }}.png</a>)</figcaption>
</figure>
{% endfor %}
"""

# The files a page links to, with their row counts (`exports`: ExportLink).
EXPORTS_TABLE = """<table id="tables">
  <thead><tr><th>what</th><th>rows</th><th>kept</th><th>files</th></tr></thead>
  <tbody>
  {% for export in exports %}
  <tr><th>{{ export.label }}</th><td class="number">{{ "" if export.rows is none else "{:,}".format(export.rows) }}</td><td>{{ export.kept }}</td>
      <td>{% for path in export.paths %}<a href="{{ path }}">{{ path }}</a> {% endfor %}</td></tr>
  {% endfor %}
  </tbody>
</table>
"""

_TEMPLATE = PAGE_HEAD + """<nav>{% for plot in plots %}<a href="#figure-{{ plot.name }}">{{ plot.title }}</a>{% endfor %}</nav>

<h2>Summary</h2>
<table id="summary">
  <thead><tr><th></th>{% for run in runs %}<th>{{ run.label }}</th>{% endfor %}</tr></thead>
  <tbody>
  <tr data-key="database"><th>database</th>{% for run in runs %}<td><code>{{ run.url }}</code></td>{% endfor %}</tr>
  {% for key, label in headline %}
  <tr data-key="{{ key }}"><th>{{ label }}</th>{% for run in runs %}<td class="number">{{ cell(run, key) }}</td>{% endfor %}</tr>
  {% endfor %}
  </tbody>
</table>

{% if surveys %}
<h2>Surveys</h2>
<table id="surveys">
  <thead><tr>{% if runs | length > 1 %}<th>run</th>{% endif %}<th>survey</th><th>tick</th><th>asked</th><th>answers</th></tr></thead>
  <tbody>
  {% for row in surveys %}
  <tr data-survey="{{ row.survey }}" data-tick="{{ row.tick }}">{% if runs | length > 1 %}<td>{{ row.run }}</td>{% endif %}<th>{{ row.survey }}</th><td class="number">{{ row.tick }}</td><td class="number">{{ row.asked }}</td>
      <td>{% for answer, agents, share in row.answers %}<span class="answer" data-answer="{{ answer }}">{{ answer }}: {{ agents }} ({{ "%.0f" % (share * 100) }} %)</span>{{ "; " if not loop.last }}{% endfor %}</td></tr>
  {% endfor %}
  </tbody>
</table>
{% endif %}

{% if runs | length > 1 %}
<h2>Configuration differences</h2>
{% if differences %}
<table id="config-diff">
  <thead><tr><th>key</th>{% for run in runs %}<th>{{ run.label }}</th>{% endfor %}</tr></thead>
  <tbody>
  {% for key, values in differences %}
  <tr data-key="{{ key }}"><th><code>{{ key }}</code></th>{% for value in values %}<td><code>{{ value }}</code></td>{% endfor %}</tr>
  {% endfor %}
  </tbody>
</table>
{% else %}
<p id="config-diff">The two runs have the same configuration.</p>
{% endif %}
{% for run in runs %}
<details><summary>Whole configuration of {{ run.label }}</summary><pre>{{ config_text(run.config) }}</pre></details>
{% endfor %}
{% endif %}


<h2>Plots</h2>
""" + PLOT_FIGURES + """
{% if exports %}
<h2>Exports</h2>
""" + EXPORTS_TABLE + """{% endif %}
{% if runs | length == 1 %}
<h2>Configuration</h2>
<details><summary>The run's configuration, as stored with it</summary>
<pre id="config">{{ config_text(runs[0].config) }}</pre>
</details>
{% endif %}

</body>
</html>
"""


def render_page(title: str, runs: Sequence[RunReport], plots: Sequence[PlotImage],
                differences: Sequence[tuple[str, Sequence[str]]] = (), exports: Sequence[ExportLink] = (),
                see_also: Sequence[tuple[str, str]] = ()) -> str:
    """The page: headline table, configuration differences (several runs), plots, exports, and
    the configuration (one run); `see_also` (href, text) links under the title."""
    environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    template = environment.from_string(_TEMPLATE)
    return template.render(title=title, runs=runs, plots=plots, headline=HEADLINE, differences=differences,
                           exports=exports, see_also=see_also, cell=_cell, config_text=config_text,
                           surveys=survey_rows(runs))


@dataclass(frozen=True, slots=True)
class SurveyRow:
    """One survey at one tick in the page's survey table."""

    run: str
    survey: str
    tick: int
    asked: int
    answers: list[tuple[str, int, float]]  # answer, agents, share, in the distribution's order


def survey_rows(runs: Sequence[RunReport]) -> list[SurveyRow]:
    """Each run's surveys, a row per survey and tick asked (`RunReport.surveys`)."""
    rows = []
    for run in runs:
        for (survey, tick), group in run.surveys.groupby(["survey", "tick"], sort=False):
            rows.append(SurveyRow(run.label, survey, int(tick), int(group["agents"].sum()),
                                  list(zip(group["answer"], group["agents"].astype(int), group["share"], strict=True))))
    return rows


def config_text(config: Mapping[str, Any]) -> str:
    """A configuration as YAML, in its own key order (the order of `agent_models.run_config`)."""
    return yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)


def _cell(run: RunReport, key: str) -> str:
    summary = run.summary
    if key == "ticks":
        return f"{summary['ticks_committed']:,} / {summary['ticks_total']:,}"
    value = summary.get(key)
    return f"{value:,}" if isinstance(value, int) and key not in ("run_id", "seed") else str(value)
