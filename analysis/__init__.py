"""`ysim report` and `ysim compare`: plots, a one-page HTML summary, table exports (CSV, Parquet)
and the follow graph (GraphML) of a run, or two runs side by side.

`data` gathers a run's aggregates (SQL in `db.report_queries`), `plots` draws them, `html`
writes the page, `exports` the data files, `configs` compares configurations, and `report`
puts them together for the command line.
"""
