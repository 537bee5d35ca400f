"""Hostile LLM answers through real ticks on Ray, on SQLite and PostgreSQL.

One run of two tick flows where every kind of generated text comes back hostile: posts,
comments (a reply and a comment), a share, news posts, their hashtags, mentions, topics and
emotion labels, and votes. The answers hold values one character longer than their column and
10,000 characters long, unicode (emoji, right-to-left text and marks, combining characters),
SQL, quotes, control characters, a NUL, and agent names that look like SQL and templates.

Every tick commits, and what is stored is exactly what the rules say: Y Social's text cleaning,
and the bound of `agent_models.text_limits` (a hashtag, topic or emotion label longer than its
column is dropped, a mention too long to name an agent is removed from the text like any
unknown mention; the text itself is kept whole). Nothing in the answers is executed or evaluated.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import select, true

from agent_models.text_limits import AGENT_NAME_MAX_LENGTH, EMOTION_MAX_LENGTH, HASHTAG_MAX_LENGTH, TOPIC_MAX_LENGTH
from db import session_factory
from db.models import (
    ActionRow, AgentRow, ArticleRow, ArticleTopicRow, EmotionRow, HashtagRow, InterestRow, LLMCallRow, MentionRow,
    PostEmotionRow, PostHashtagRow, PostRow, PostTopicRow, ReactionRow, TickRow, VoteRow,
)
from tasks import prepare_run
from tests.conftest import make_config
from tests.ysocial_files import NEWS_FEEDS, POPULATION

# The agents, each with one round per tick and one kind of action; names that look like SQL and
# templates go into prompts and the agents table as text.
POSTER, COMMENTER = "ada", "bob"  # plain names: they are mentioned
SHARER = 'quote"brace}{bracket]["json'
ABSURD_VOTER = "robert'); DROP TABLE votes;--"
VOTER = "{self.__class__}{0.__globals__}"
NUL_POSTER = "tab\tnewline\nescape\x1b[31m"
PAGES = ("American Enterprise Institute", "The Guardian")  # one per feed of NEWS_FEEDS

# Values at and past their column's length.
HASHTAG_FITS = "#" + "h" * (HASHTAG_MAX_LENGTH - 1)  # exactly the column: kept
HASHTAG_OVER = "#" + "x" * HASHTAG_MAX_LENGTH  # one character more: dropped
HASHTAG_HUGE = "#" + "y" * 10_000
HASHTAG_GROWS = "#" + "İ" * (HASHTAG_MAX_LENGTH - 1)  # fits; lower-cased ("i̇", 2 characters each) it does not
MENTION_OVER = "@" + "m" * (AGENT_NAME_MAX_LENGTH + 1)  # no agent can have this name
TOPIC_FITS = "u" * TOPIC_MAX_LENGTH
EMOTION_FITS, EMOTION_OVER = "b" * EMOTION_MAX_LENGTH, "a" * (EMOTION_MAX_LENGTH + 1)
LABELS = ["joy", "anger", "sadness", EMOTION_FITS, EMOTION_OVER]  # the annotating agents' labels
LONG = "very long " * 10_000

POST = (f"Ciao 👋🏽 مرحبا بالعالم e\u0301 it's 'quoted'\nline two\tSELECT * FROM agents; DROP TABLE hashtags; "
        f"@{COMMENTER} {MENTION_OVER} #ok {HASHTAG_FITS} {HASHTAG_OVER} {HASHTAG_HUGE} {HASHTAG_GROWS} "
        f"#Mixed_Case #cafe\u0301 #مرحبا #ok {LONG}end")
COMMENT = (f'@{POSTER} réponse ✅ שלום עולם "double" and \'single\'\r\n'
           f"Robert'); DELETE FROM posts WHERE 1=1; --\n#Reply_Tag #{'r' * 250} @{'n' * 5_000} done")
SHARE = (f"Must read 📰 \u202eevil override\u202c \u200fRTL mark\u200f #Share_This #{'s' * 300} "
         f"@{'q' * (AGENT_NAME_MAX_LENGTH + 1)} @{POSTER}")
NEWS = f"Breaking 🌍 news\r\n'); DROP TABLE articles; SELECT pg_sleep(10); #News_Tag #{'z' * 10_000}"
TOPICS = (f"#T: {'w' * 10_000}; #T: {'t' * (TOPIC_MAX_LENGTH + 1)}; #T: {TOPIC_FITS}; #T: Climate Policy; "
          "#T: Tax Reform; #T: Fifth Topic")
EMOTIONS = json.dumps({"emotions": ["joy", "Rage", "anger", "joy", "DROP TABLE emotions;--", EMOTION_OVER,
                                    EMOTION_FITS, "😀"]})
ABSURD_VOTE = '{"vote": 1e308, "preference": "LEFTIST' + "!" * 10_000 + '"}'

# What the rules store. Texts: Y Social's cleaning (a post loses '"', '-'; a mention of no
# agent is removed with the space after it), otherwise whole.
STORED_POST = POST.replace(f"{MENTION_OVER} ", "")
STORED_COMMENT = (f"@{POSTER} réponse ✅ שלום עולם double and 'single'\r\n"
                  f"Robert'); DELETE FROM posts WHERE 1=1; \n#Reply_Tag #{'r' * 250} done")
STORED_SHARE = f"Must read 📰 \u202eevil override\u202c \u200fRTL mark\u200f #Share_This #{'s' * 300} @{POSTER}"
POST_TAGS = {HASHTAG_FITS, "#mixed_case", "#cafe", "#مرحبا"}  # "#ok" is under Y Social's 4 characters
NEWS_TOPICS = {TOPIC_FITS, "climate policy", "tax reform"}  # the first three that fit
STORED_EMOTIONS = {"joy", "anger", EMOTION_FITS}


def script() -> list:
    """The stub's answers: (markers the request must contain, answer), first match wins."""
    return [
        # Name every action: each agent does the one its `actions_likelihood` offers, never NONE.
        ("What do you do next on the platform?", '{"pick": "POST COMMENT SHARE CAST"}'),
        (("Write one short post", f"You are {POSTER},"), POST),
        (("Write one short post", f"You are {NUL_POSTER},"), "a NUL\x00here #control"),
        ("Add a short reply", COMMENT),
        ("Share this article", SHARE),
        (("An electoral survey", f"You are {ABSURD_VOTER},"), ABSURD_VOTE),
        ("An electoral survey", "RIGHT"),
        ("Do you like this post?", "DISLIKE"),
        ("Annotate this text", EMOTIONS),
        ("presenting this article from", NEWS),
        ("Name the 3 general topics", TOPICS),
    ]


def population(tmp_path) -> str:
    template = json.loads(POPULATION.read_text())["agents"][0]  # a Y Social LLM agent, always on
    roles = [(POSTER, "post", True), (COMMENTER, "comment", True), (SHARER, "share", True),
             (ABSURD_VOTER, "cast", False), (VOTER, "cast", False), (NUL_POSTER, "post", False)]
    agents = [{**template, "name": name, "email": f"agent{i}@x", "rec_sys": "ReverseChrono", "round_actions": 1,
               "actions_likelihood": {action: 1.0}, "annotate_emotions": annotate, "emotions": LABELS}
              for i, (name, action, annotate) in enumerate(roles)]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"agents": agents}))
    return str(path)


def test_hostile_answers_in_every_generated_text_commit_in_their_bounded_form(ray_session, db_url, llm_stub,
                                                                                   tmp_path):
    from flows.tick import tick_flow

    llm_stub.state.script = script()
    config = make_config(db_url, llm_stub.url, simulation={"ticks": 2, "hourly_activity": {h: 1.0 for h in range(24)}},
                         agents={"population": population(tmp_path), "news_feeds": str(NEWS_FEEDS)})
    run = prepare_run.fn(config)
    for tick in (0, 1):  # tick 0: posts and news; tick 1: comments, a reply, a share and votes on them
        tick_flow(config, run.run_id, tick)

    with session_factory(db_url).begin() as session:
        read = Reader(session)
        assert sorted(read.all(TickRow.tick)) == [(0,), (1,)]  # both ticks committed
        assert sorted(read.names.values()) == sorted([POSTER, COMMENTER, SHARER, ABSURD_VOTER, VOTER, NUL_POSTER,
                                                      *PAGES])  # stored verbatim; no table dropped
        posts = read.posts()
        assert sorted(posts.values()) == sorted([
            (POSTER, 0, STORED_POST), (POSTER, 1, STORED_POST),
            (COMMENTER, 1, STORED_COMMENT), (COMMENTER, 1, STORED_COMMENT),  # the reply to ada's mention, a comment
            (SHARER, 1, STORED_SHARE), *((page, tick, NEWS) for page in PAGES for tick in (0, 1))])
        by_author = {author: {p for p, (a, _, _) in posts.items() if a == author} for author, _, _ in posts.values()}
        shares = dict(read.all(PostRow.id, PostRow.shared_from, where=PostRow.shared_from.is_not(None)))
        news = by_author[PAGES[0]] | by_author[PAGES[1]]

        # Hashtags: those that fit, lower-cased, Y Social's short ones left out; none other stored.
        tags = read.grouped(PostHashtagRow.post_id, HashtagRow.hashtag, PostHashtagRow.hashtag_id == HashtagRow.id)
        expected_tags = {**{p: POST_TAGS for p in by_author[POSTER]},
                         **{p: {"#reply_tag"} for p in by_author[COMMENTER]},
                         **{p: {"#share_this"} for p in shares}, **{p: {"#news_tag"} for p in news}}
        assert tags == expected_tags
        assert {h for (h,) in read.all(HashtagRow.hashtag)} == set().union(*expected_tags.values())

        # Topics: a news post's three that fit, copied to its article and to its shares; the interests
        # table holds those and the agents' own, nothing longer.
        topics = read.grouped(PostTopicRow.post_id, InterestRow.interest, PostTopicRow.topic_id == InterestRow.id)
        assert all(topics[p] == NEWS_TOPICS for p in news | set(shares))
        articles = read.grouped(ArticleRow.id, InterestRow.interest, ArticleTopicRow.article_id == ArticleRow.id,
                                ArticleTopicRow.topic_id == InterestRow.id)
        assert len(articles) >= 2 and all(t == NEWS_TOPICS for t in articles.values())
        own = {t for (interests,) in read.all(AgentRow.interests) for t in interests}
        assert {i for (i,) in read.all(InterestRow.interest)} == own | NEWS_TOPICS

        # Mentions: of agents only (the one too long to be a name was removed from the text);
        # ada's first mention of bob is answered by his reply.
        mentions = Counter((read.names[a], posts[p][0], answered)
                           for a, p, answered in read.all(MentionRow.agent_id, MentionRow.post_id, MentionRow.answered))
        assert mentions == Counter({(COMMENTER, POSTER, True): 1, (COMMENTER, POSTER, False): 1,
                                    (POSTER, COMMENTER, False): 2, (POSTER, SHARER, False): 1})

        # Emotions: the agent's labels that fit, once each; no invented or overlong label.
        emotions = read.grouped(PostEmotionRow.post_id, EmotionRow.emotion, PostEmotionRow.emotion_id == EmotionRow.id)
        annotated = by_author[POSTER] | by_author[COMMENTER] | by_author[SHARER]
        assert emotions == {p: STORED_EMOTIONS for p in annotated}
        assert {e for (e,) in read.all(EmotionRow.emotion)} == STORED_EMOTIONS

        # Votes: RIGHT is stored as R; the absurd answer is recorded as unparseable, and no vote.
        votes = [(read.names[a], pref, kind) for a, pref, kind in read.all(VoteRow.agent_id, VoteRow.preference,
                                                                            VoteRow.content_type)]
        assert votes == [(VOTER, "R", "Post")]
        assert read.outcomes(ABSURD_VOTER, tick=1) == {("CAST", "unparseable"): ("cast_vote", "unparseable")}
        reactions = [(read.names[a], kind) for a, kind in read.all(ReactionRow.agent_id, ReactionRow.kind)]
        assert reactions == [(COMMENTER, "dislike")]

        # A NUL, which no database keeps: the answer is refused, the call says why, no post.
        assert read.outcomes(NUL_POSTER, tick=0) == {("POST", "unparseable"): ("post_content", "failed")}
        assert "NUL" in read.all(LLMCallRow.error, where=(LLMCallRow.agent_id == read.ids[NUL_POSTER])
                                 & (LLMCallRow.function == "post_content"))[0][0]

    prompts = json.dumps(llm_stub.state.requests)
    assert json.dumps(VOTER)[1:-1] in prompts  # the name went into prompts as text
    assert "<class" not in prompts and "__builtins__" not in prompts  # and was never evaluated


class Reader:
    """Rows of the run, read back with agent names."""

    def __init__(self, session) -> None:
        self.session = session
        self.names = dict(self.all(AgentRow.agent_id, AgentRow.name))
        self.ids = {name: agent_id for agent_id, name in self.names.items()}

    def all(self, *columns, where=None) -> list[tuple]:
        return [tuple(row) for row in self.session.execute(select(*columns).where(true() if where is None else where))]

    def posts(self) -> dict[int, tuple[str, int, str]]:
        """post id -> (author name, tick, text)."""
        return {p: (self.names[a], tick, text) for p, a, tick, text in self.all(PostRow.id, PostRow.author_id,
                                                                                  PostRow.tick, PostRow.text)}

    def grouped(self, key, value, *joins) -> dict[int, set[str]]:
        """key -> the set of values, joined on `joins` (no duplicate rows allowed)."""
        rows = self.session.execute(select(key, value).where(*joins)).all()
        assert len(rows) == len(set(rows)), "a value is stored twice"
        groups: dict[int, set[str]] = {}
        for k, v in rows:
            groups.setdefault(k, set()).add(v)
        return groups

    def outcomes(self, name: str, tick: int) -> dict[tuple[str, str], tuple[str, str]]:
        """(action, status) -> (LLM function, outcome) of the agent's last call, for its round 0 at `tick`."""
        agent = self.ids[name]
        actions = self.all(ActionRow.action, ActionRow.status,
                           where=(ActionRow.agent_id == agent) & (ActionRow.tick == tick))
        calls = self.all(LLMCallRow.function, LLMCallRow.outcome,
                         where=(LLMCallRow.agent_id == agent) & (LLMCallRow.tick == tick)
                         & (LLMCallRow.function != "select_action_llm"))
        return {action: call for action, call in zip(actions, calls, strict=True)}


def test_a_population_name_with_a_nul_is_refused_with_the_field_named(tmp_path):
    from agent_models import PopulationError, load_population

    agent = {**json.loads(POPULATION.read_text())["agents"][0], "name": "nul\x00name"}
    path = tmp_path / "nul.json"
    path.write_text(json.dumps({"agents": [agent]}))
    with pytest.raises(PopulationError, match=r"name: .* contains a NUL character"):
        load_population(str(path))
