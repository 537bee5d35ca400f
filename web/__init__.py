"""`ysim web`: the simulated platform in a browser, read from a run's database.

`web.app.create_app(db_url)` is a FastAPI application with Jinja2 pages: the public timeline, the
feed each agent's recommender served it (as logged), threads with their comments and reactions,
profiles (persona, interests, opinions over time, followers and followees, posts), hashtags and
search, each as the platform stood after any committed tick (`?tick=T`; the latest by default, and
a page on the latest picks up new ticks as the run commits them, without a reload). It reads
through `db.web_queries` and never writes. `web.security` keeps it on loopback unless a password
guards it, and sets the headers that keep agent text (LLM output, untrusted) inert.
"""
