"""Paths of the Y Social files the tests read (see tests/fixtures/ysocial/README.md)."""

from pathlib import Path

YSOCIAL = Path(__file__).parent / "fixtures" / "ysocial"
CLASSIC_CONFIG = YSOCIAL / "config.json"
WEB_CLIENT_CONFIG = YSOCIAL / "client_web.json"
POPULATION = YSOCIAL / "forum5.json"
SAMPLE_GRAPH = YSOCIAL / "sample_graph.csv"
PROMPTS = YSOCIAL / "prompts.json"
NEWS_FEEDS = YSOCIAL / "rss_feeds.json"
# Client configurations as YClient and the YSocial web app wrote them (README.md names their sources).
TESTBED_CONFIG = YSOCIAL / "yclient_testbed_config_embed_test.json"
WEB_APP_CONFIGS = (YSOCIAL / "client_as-forum100.json", YSOCIAL / "client_dfdf-forum100.json")
ALL_CLIENT_CONFIGS = (CLASSIC_CONFIG, TESTBED_CONFIG, *WEB_APP_CONFIGS, WEB_CLIENT_CONFIG)
