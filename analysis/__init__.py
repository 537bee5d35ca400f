"""`ysim report` and `ysim compare`: plots, a one-page HTML summary, table exports (CSV, Parquet)
and the follow graph (GraphML) of a run, two runs side by side, and outcome measures of many runs
with statistics over seeds.

`data` gathers a run's aggregates (SQL in `db.report_queries`), `plots` draws them, `html`
writes the page, `exports` the data files, `configs` compares configurations, and `report`
puts them together for the command line. `measures` computes a run's outcome measures,
`variants` groups runs into variants, `statistics` computes means and differences with their
intervals, `statistics_page` writes their page, and `comparison` puts those together.
"""
