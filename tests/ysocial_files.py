"""Paths of the Y Social files the tests read (see tests/fixtures/ysocial/README.md)."""

from pathlib import Path

YSOCIAL = Path(__file__).parent / "fixtures" / "ysocial"
CLASSIC_CONFIG = YSOCIAL / "config.json"
WEB_CLIENT_CONFIG = YSOCIAL / "client_web.json"
POPULATION = YSOCIAL / "forum5.json"
SAMPLE_GRAPH = YSOCIAL / "sample_graph.csv"
PROMPTS = YSOCIAL / "prompts.json"
NEWS_FEEDS = YSOCIAL / "rss_feeds.json"
