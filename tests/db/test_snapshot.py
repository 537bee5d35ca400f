"""db.snapshot: a database copied as it stood after tick T equals, table by table, the database that
stopped after T; every column that changes after its row is written is set back.

The source is written through the real tick writer, four ticks whose later ones change what the
earlier ones wrote: a reaction to an old post (its count), a reply answering an old mention, a
second article of an old news site (its last fetch), a churned agent (`left_on`), a new agent, a
new hashtag, topic and emotion. The oracle is the same writes stopped after tick 1.
"""

from __future__ import annotations

import pytest
from sqlalchemy import null, select, update

from agent_models import (
    ActionRecord, AgentData, BatchResult, CommentIntent, FollowIntent, LLMCallRecord, PostIntent, ReactionIntent,
)
from agent_models.intents import ArticleRef, InterestIntent, JoinIntent, LeaveIntent, OpinionIntent, VoteIntent
from db import create_schema, session_factory, write_tick
from db.models import AgentRow, LLMCacheRow, MentionRow, PostRow, TickRow, WebsiteRow
from db.queries import create_run
from db.snapshot import NotCopyableError, copy_through
from tests.conftest import reset_postgres
from tests.table_dumps import dump_all

AT = 1
CONFIG = {"simulation": {"ticks": 4}}


def _article(n: int) -> ArticleRef:
    return ArticleRef(title=f"story {n}", summary="", link=f"https://news.example/{n}", website="Daily",
                      rss="file:///feeds/daily.xml", leaning="left")


def _call(agent: int, tick: int) -> LLMCallRecord:
    return LLMCallRecord(agent, 0, "post_content", "stub", 5, 3, 1.0, "ok", cache_key=f"key-{tick}-{agent}",
                         response=f"answer {tick}")


TICKS = [  # what each tick writes; agents a1..a4 (ids 1-4), a4 a page
    [PostIntent(1, 0, "hello #world @a2", topics=("climate",), hashtags=("#world",), mentions=("a2",),
                emotions=("joy",)),
     PostIntent(4, 0, "Read this", topics=("economy",), article=_article(1)),
     FollowIntent(2, 0, 1), OpinionIntent(2, 0, "climate", 0.4)],
    [ReactionIntent(2, 0, 1, "like"), ReactionIntent(3, 0, 2, "dislike"), VoteIntent(3, 1, 1, "D"),
     InterestIntent(3, 0, ("climate",))],
    [CommentIntent(2, 0, 1, "hi back", answers_mention=1), ReactionIntent(3, 0, 1, "like"),
     PostIntent(4, 0, "More news", topics=("health",), article=_article(2)),
     PostIntent(3, 1, "new tag #fresh", topics=("sport",), hashtags=("#fresh",), emotions=("anger",)),
     FollowIntent(3, 0, 1), FollowIntent(2, 1, 1, "unfollow"), OpinionIntent(3, 0, "sport", -0.2),
     LeaveIntent(3), JoinIntent(AgentData("a5", "a5@x"))],
    [ReactionIntent(5, 0, 1, "dislike"), CommentIntent(5, 0, 3, "welcome"), InterestIntent(5, 0, ("sport",))],
]


def write_run(url: str, ticks: int) -> None:
    """The run of TICKS[:ticks]: every intent, an action and an LLM call per agent that acts."""
    create_schema(url)
    agents = [AgentData(f"a{i}", f"a{i}@x") for i in range(1, 4)] + [AgentData("a4", "a4@x", is_page=1)]
    with session_factory(url).begin() as session:
        run_id = create_run(session, name="snap", seed=1, total_ticks=4, config=CONFIG, agents=agents)
    for tick, intents in enumerate(TICKS[:ticks]):
        acting = sorted({i.agent_id for i in intents if not isinstance(i, JoinIntent)})
        result = BatchResult(intents=list(intents), actions=[ActionRecord(a, 0, "POST", "done") for a in acting],
                             llm_calls=[_call(a, tick) for a in acting])
        with session_factory(url).begin() as session:
            write_tick(session, run_id=run_id, tick=tick, active_agents=len(acting), result=result)


@pytest.fixture(params=["sqlite-sqlite", "sqlite-postgresql", "postgresql-sqlite"])
def databases(request, tmp_path) -> tuple[str, str, str]:
    """(source, oracle, fork) URLs: SQLite files, with PostgreSQL on the side the parameter names."""
    source_kind, fork_kind = request.param.split("-")
    urls = {name: f"sqlite:///{tmp_path / name}.db" for name in ("source", "oracle", "fork")}
    if "postgresql" in request.param:
        postgres = request.getfixturevalue("postgres_url")
        reset_postgres(postgres)
        urls["source" if source_kind == "postgresql" else "fork"] = postgres
    return urls["source"], urls["oracle"], urls["fork"]


def test_a_copy_as_of_a_tick_is_the_database_that_stopped_there(databases):
    source, oracle, fork = databases
    write_run(source, ticks=4)
    write_run(oracle, ticks=AT + 1)
    before = dump_all(source)
    later = {"simulation": {"ticks": 6}, "interventions": [{"at": 2, "set": {"feeds.feed_size": 3}}]}
    copy_through(source, fork, AT, run_config=later, total_ticks=6)

    got, want = dump_all(fork), dump_all(oracle)
    assert dump_all(source) == before  # the source is only read
    # The later ticks really changed what the earlier ones wrote, so the rules below are exercised.
    final = _final_values(source)
    assert final == {"reaction_count": 3, "answered_tick": 2, "last_fetched": 2, "left_on": 3}, final
    for name in want:
        if name in ("runs", "llm_cache"):
            continue
        assert got[name] == want[name], name  # every row, every column, ids included
    # The run row is the fork's (its configuration and length); the cache is the source's, whole.
    assert [row[1:] for row in got["runs"]] == [("snap", 1, 6, later)]
    assert got["llm_cache"] == before["llm_cache"] and len(before["llm_cache"]) > len(want["llm_cache"])


def _final_values(url: str) -> dict[str, int]:
    """In the 4-tick source: the final values of the columns a fork at AT must set back."""
    with session_factory(url).begin() as session:
        return {"reaction_count": session.get_one(PostRow, 1).reaction_count,
                "answered_tick": session.scalar(select(MentionRow.answered_tick)),
                "last_fetched": session.scalar(select(WebsiteRow.last_fetched)),
                "left_on": session.get_one(AgentRow, 3).left_on}


def test_new_rows_after_a_copy_take_the_next_ids(databases):
    """The fork goes on: a tick written into the copy numbers its rows as a run that stopped there."""
    source, oracle, fork = databases
    write_run(source, ticks=4)
    copy_through(source, fork, AT, run_config=CONFIG, total_ticks=4)
    write_run(oracle, ticks=AT + 1)
    for url in (fork, oracle):
        with session_factory(url).begin() as session:
            write_tick(session, run_id=1, tick=AT + 1, active_agents=3, result=BatchResult(intents=list(TICKS[AT + 1])))
    got, want = dump_all(fork), dump_all(oracle)
    assert {k: v for k, v in got.items() if k not in ("runs", "llm_cache")} == \
        {k: v for k, v in want.items() if k not in ("runs", "llm_cache")}


def test_a_tick_committed_before_row_marks_is_not_copied(tmp_path):
    source, fork = (f"sqlite:///{tmp_path / name}.db" for name in ("source", "fork"))
    write_run(source, ticks=2)
    with session_factory(source).begin() as session:
        session.execute(update(TickRow).where(TickRow.tick == 1).values(last_ids=null()))  # as 0007 leaves old ticks
        assert session.scalar(select(LLMCacheRow.id).limit(1)) is not None
    with pytest.raises(NotCopyableError, match="tick 1 was committed before ysim recorded row marks"):
        copy_through(source, fork, 1, run_config=CONFIG, total_ticks=4)
