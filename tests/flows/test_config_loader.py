"""Configuration files that name other files: prompts, news feeds, populations."""

from __future__ import annotations

import pytest

from flows import config_loader
from tests.ysocial_files import NEWS_FEEDS, PROMPTS


def test_a_configuration_reads_a_prompts_file_and_resolves_the_feed_list(tmp_path):
    (tmp_path / "prompts.json").write_text(PROMPTS.read_text())
    (tmp_path / "run.yaml").write_text(f"prompts: prompts.json\nagents: {{news_feeds: {NEWS_FEEDS.name}}}\n")
    data = config_loader.load_file(tmp_path / "run.yaml")
    assert data["prompts"]["handler_post"].startswith("Write a tweet")
    assert data["agents"]["news_feeds"] == str(tmp_path / NEWS_FEEDS.name)
    config = config_loader.build(data, {})
    assert config.prompts["handler_cast"].startswith("You are participating in an electoral survey")


@pytest.mark.parametrize("content, message", [
    ('{"handler_post": "Write about {article.title}"}', r"prompts.handler_post: placeholder \{article.title\}"),
    ('{"handler_post": "{__import__(\'os\')}"}', "prompts.handler_post: placeholder"),
    ("[1, 2]", "must hold an object of prompt templates"),
    ("{not json", "is not valid JSON"),
])
def test_bad_prompts_are_one_line_errors(tmp_path, content, message):
    (tmp_path / "prompts.json").write_text(content)
    (tmp_path / "run.yaml").write_text("prompts: prompts.json\n")
    with pytest.raises(config_loader.ConfigError, match=message) as error:
        config_loader.build(config_loader.load_file(tmp_path / "run.yaml"), {})
    assert "\n" not in str(error.value)
