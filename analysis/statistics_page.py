"""The statistics page of `ysim compare` (`index.html`; `statistics/index.html` beside the
side-by-side page of two runs): variants, final values and differences with their intervals, one
figure per measure, the runs and the data files.

Self-contained like the report page (`html`: same styles, images as data: URIs). Stable ids for
tests and scripts: `variants`, `final-values` and `differences` (cells carry `data-variant`, rows
`data-measure`; a cell's `.mean` / `.difference`, `.interval` and `.n` spans hold its numbers as
`number` writes them), `plot-<name>` on each figure's image, `runs`, `files`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from jinja2 import Environment

from analysis.html import EXPORTS_TABLE, PAGE_HEAD, PLOT_FIGURES, ExportLink, PlotImage
from analysis.statistics import LEVEL
from analysis.variants import Variant

SIGNIFICANT = 4  # digits of the numbers in the tables (the CSV files hold them in full)
MISSING = "n/a"


@dataclass(frozen=True, slots=True)
class Cell:
    """One variant's value of one measure: a mean (or a difference), its interval, and its count."""

    value: float
    low: float
    high: float
    n: str  # "3", or "3 vs 3" for a difference


_TEMPLATE = PAGE_HEAD + """<nav><a href="#final">Final values</a><a href="#diffs">Differences</a>{% for plot in plots %}<a href="#figure-{{ plot.name }}">{{ plot.title }}</a>{% endfor %}<a href="#run-list">Runs</a><a href="#files">Files</a></nav>

<h2>Variants</h2>
<table id="variants">
  <thead><tr><th>variant</th><th>runs</th><th>seeds</th>{% for key, _ in variants[0].settings %}<th><code>{{ key }}</code></th>{% endfor %}</tr></thead>
  <tbody>
  {% for variant in variants %}
  <tr data-variant="{{ variant.name }}"><th>{{ variant.name }}</th><td class="number">{{ variant.runs | length }}</td>
      <td>{{ variant.seeds | join(", ") }}</td>{% for _, value in variant.settings %}<td><code>{{ value }}</code></td>{% endfor %}</tr>
  {% endfor %}
  </tbody>
</table>
<p>Runs are one variant when their configurations are equal but for the seed, the run's name and where
the database, the LLM server and Ray are. Intervals are {{ level }} % confidence intervals: of a mean over
a variant's runs, Student's t; of a difference of two means, Welch's. Numbers are rounded to {{ significant }}
significant digits; the files below hold them in full.</p>

<h2 id="final">Final values</h2>
<p>Each run's value at its last committed tick; per variant, the mean over its runs [{{ level }} % interval]
and n, the runs with a value.</p>
<table id="final-values">
  <thead><tr><th>measure</th>{% for variant in variants %}<th>{{ variant.name }}</th>{% endfor %}</tr></thead>
  <tbody>
  {% for measure, cells in final %}
  <tr data-measure="{{ measure }}"><th><code>{{ measure }}</code></th>{% for variant, cell in cells %}
    <td class="number" data-variant="{{ variant }}">{% if cell %}<span class="mean">{{ number(cell.value) }}</span> <span class="interval">[{{ number(cell.low) }}, {{ number(cell.high) }}]</span> <span class="n">n={{ cell.n }}</span>{% endif %}</td>{% endfor %}</tr>
  {% endfor %}
  </tbody>
</table>

<h2 id="diffs">Differences from {{ reference }}</h2>
{% if differences %}
<p>Mean final value of the variant minus that of {{ reference }} [{{ level }} % interval, Welch], and n of both.</p>
<table id="differences">
  <thead><tr><th>measure</th>{% for variant in variants[1:] %}<th>{{ variant.name }} &minus; {{ reference }}</th>{% endfor %}</tr></thead>
  <tbody>
  {% for measure, cells in differences %}
  <tr data-measure="{{ measure }}"><th><code>{{ measure }}</code></th>{% for variant, cell in cells %}
    <td class="number" data-variant="{{ variant }}">{% if cell %}<span class="difference">{{ number(cell.value) }}</span> <span class="interval">[{{ number(cell.low) }}, {{ number(cell.high) }}]</span> <span class="n">n={{ cell.n }}</span>{% endif %}</td>{% endfor %}</tr>
  {% endfor %}
  </tbody>
</table>
{% else %}
<p id="differences">One variant: nothing to compare it with.</p>
{% endif %}

<h2>Measures over ticks</h2>
{% if omitted %}<p>{{ omitted }}</p>{% endif %}
""" + PLOT_FIGURES + """
<h2 id="run-list">Runs</h2>
<table id="runs">
  <thead><tr><th>variant</th><th>seed</th><th>database</th><th>run id</th></tr></thead>
  <tbody>
  {% for variant in variants %}{% for run in variant.runs %}
  <tr><td>{{ run.variant }}</td><td class="number">{{ run.seed }}</td><td><code>{{ run.url }}</code></td><td class="number">{{ run.run_id }}</td></tr>
  {% endfor %}{% endfor %}
  </tbody>
</table>

<h2 id="files">Files</h2>
""" + EXPORTS_TABLE + """
</body>
</html>
"""


def number(value: float) -> str:
    """A table's number: SIGNIFICANT significant digits, `n/a` for NaN."""
    return MISSING if value is None or math.isnan(value) else f"{value:.{SIGNIFICANT}g}"


def render_statistics_page(title: str, variants: Sequence[Variant], final: pd.DataFrame, differences: pd.DataFrame,
                           plots: Sequence[PlotImage], exports: Sequence[ExportLink], omitted: str = "",
                           see_also: Sequence[tuple[str, str]] = ()) -> str:
    """The page, from `statistics.final_values` and `statistics.differences` frames."""
    names = [variant.name for variant in variants]
    final_rows = _rows(final, names, "mean", lambda row: str(row.n))
    difference_rows = _rows(differences, names[1:], "difference", lambda row: f"{row.n} vs {row.n_reference}")
    environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return environment.from_string(_TEMPLATE).render(
        title=title, variants=variants, reference=names[0], final=final_rows, differences=difference_rows,
        plots=plots, exports=exports, omitted=omitted, see_also=see_also, number=number,
        level=round(LEVEL * 100), significant=SIGNIFICANT)


def _rows(frame: pd.DataFrame, variants: Sequence[str], column: str,
          count: Callable[[Any], str]) -> list[tuple[str, list[tuple[str, Cell | None]]]]:
    """(measure, [(variant, Cell or None)]) in the frame's order of measures."""
    cells = {(row.variant, row.measure): Cell(getattr(row, column), row.ci_low, row.ci_high, count(row))
             for row in frame.itertuples(index=False)}
    measures = list(dict.fromkeys(frame["measure"]))
    return [(measure, [(variant, cells.get((variant, measure))) for variant in variants]) for measure in measures]
