"""`ysim compare`'s statistics page over six runs, opened from disk in Chromium: every figure loads,
the final-values table shows final_values.csv's numbers, and the page asks nothing of the network.

The runs (two recommenders x three seeds, the LLM stub) are made in a subprocess: Playwright's
sync API holds an asyncio loop in this process while the browser is open, and a run's LLM client
would need one of its own.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from analysis.measures import MEASURES
from tests.browser.conftest import chromium_path

REPO = Path(__file__).resolve().parents[2]
RUNS_TIMEOUT_S = 240
COMPARE_TIMEOUT_S = 120
MAKE_RUNS = """
import sys
from pathlib import Path
from tests.analysis.reporting_runs import make_seed_runs
from tests.llm_stub import LLMStub
with LLMStub() as stub:
    for _, _, url in make_seed_runs(Path(sys.argv[1]), stub.url, ticks=4):
        print(url)
"""


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Path:
    """The output folder of `ysim compare` over the six runs."""
    chromium_path()  # no runs for a browser that is not there
    root = tmp_path_factory.mktemp("compare-page")
    made = subprocess.run([sys.executable, "-c", MAKE_RUNS, str(root / "runs")], cwd=REPO, capture_output=True,
                          text=True, timeout=RUNS_TIMEOUT_S)
    assert made.returncode == 0, made.stderr[-3000:]
    urls = made.stdout.split()
    assert len(urls) == 6, made.stdout
    out = root / "compare"
    result = subprocess.run([str(Path(sys.executable).parent / "ysim"), "compare", *urls, "--out", str(out)],
                            capture_output=True, text=True, timeout=COMPARE_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def shown(value: float) -> str:
    """A number as the page writes it: four significant digits, n/a for none."""
    return "n/a" if math.isnan(value) else f"{value:.4g}"


def test_the_statistics_page_shows_its_figures_and_the_final_values_offline(compared, page, requests, screenshot):
    page.goto((compared / "index.html").as_uri())
    expect(page.get_by_role("img").first).to_be_visible()
    loaded = page.evaluate("[...document.images].map(i => [i.id, i.complete && i.naturalWidth > 0, "
                           "i.src.slice(0, 22)])")
    assert {f"plot-measure-{name}" for name in MEASURES} <= {image_id for image_id, _, _ in loaded}, loaded
    assert len(loaded) == len(list((compared / "plots").glob("measure-*.png")))
    assert all(ok and src == "data:image/png;base64," for _, ok, src in loaded), loaded

    cells = page.evaluate("""[...document.querySelectorAll('#final-values tbody td')].map(td => [
        td.closest('tr').dataset.measure, td.dataset.variant, td.querySelector('.mean').innerText,
        td.querySelector('.interval').innerText, td.querySelector('.n').innerText])""")
    final = pd.read_csv(compared / "measures" / "final_values.csv")
    expected = [[row.measure, row.variant, shown(row.mean), f"[{shown(row.ci_low)}, {shown(row.ci_high)}]",
                 f"n={row.n}"] for row in final.itertuples(index=False)]
    assert sorted(cells) == sorted(expected)
    assert any(n == "n=3" and not interval.startswith("[n/a") for _, _, _, interval, n in cells)

    page.get_by_role("heading", name="Final values").evaluate("heading => heading.scrollIntoView()")
    screenshot(page, "compare-final-values.png")
    screenshot(page, "compare-full-page.png", full_page=True)
    assert requests.made and all(url.startswith(("file:", "data:")) for url in requests.made), requests.made
    assert requests.blocked == []
