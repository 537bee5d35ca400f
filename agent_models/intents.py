"""What a tick's agents decided, as values: intents to apply and records of what happened.

Behaviour functions return these; only the apply phase writes them to the database. They are
frozen slotted dataclasses so they pickle cheaply across Ray and cannot be changed on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from agent_models.agent_data import AgentData

ActionStatus = Literal["done", "none", "no_target", "unparseable", "failed", "rejected"]
LLMOutcome = Literal["ok", "retried", "cached", "failed", "unparseable"]
# The one definition of an LLM error, for every count ysim reports (a tick's summary and artifact,
# `ysim status`, reports): a call that gave nothing usable, refused or failed for good (`failed`)
# or answered with nothing that parses (`unparseable`). A `retried` call was answered in the end
# and a `cached` one came from the response cache: neither is an error.
LLM_ERROR_OUTCOMES: frozenset[LLMOutcome] = frozenset({"failed", "unparseable"})


@dataclass(slots=True, frozen=True)
class ArticleRef:
    """A news article as a page read it from its feed (Y Social's `articles` and `websites` rows)."""

    title: str
    summary: str
    link: str
    website: str  # the feed's (page's) name
    rss: str  # the feed's address: a URL or a local file
    leaning: str | None = None
    category: str | None = None
    language: str | None = None
    country: str | None = None


@dataclass(slots=True, frozen=True)
class PostIntent:
    """A new root post: written, shared (`shared_from`), or a page's news item (`article`)."""

    agent_id: int
    round_index: int
    text: str
    topics: tuple[str, ...] = ()  # the interests the post is about (Y Social's post_topics)
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()  # user names, without '@'
    emotions: tuple[str, ...] = ()
    shared_from: int | None = None  # SHARE: the post shared; its article is copied
    article: ArticleRef | None = None  # NEWS: the article the page posts


@dataclass(slots=True, frozen=True)
class CommentIntent:
    agent_id: int
    round_index: int
    post_id: int
    text: str
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    emotions: tuple[str, ...] = ()
    answers_mention: int | None = None  # a reply: the mention it answers, marked answered


@dataclass(slots=True, frozen=True)
class ReactionIntent:
    agent_id: int
    round_index: int
    post_id: int
    kind: Literal["like", "dislike"]


@dataclass(slots=True, frozen=True)
class FollowIntent:
    agent_id: int
    round_index: int
    target_id: int
    action: Literal["follow", "unfollow"] = "follow"


@dataclass(slots=True, frozen=True)
class VoteIntent:
    """CAST: a voting preference about a post (Y Social's D / R / U codes)."""

    agent_id: int
    round_index: int
    post_id: int
    preference: Literal["D", "R", "U"]


@dataclass(slots=True, frozen=True)
class InterestIntent:
    """The agent's interests gain `topics`, or the topics of `post_id` (Y Social's `set_user_interests`)."""

    agent_id: int
    round_index: int
    topics: tuple[str, ...] = ()
    post_id: int | None = None


@dataclass(slots=True, frozen=True)
class OpinionIntent:
    """An agent's new opinion on a topic, after reading `post_id` by `interacted_with`."""

    agent_id: int
    round_index: int
    topic: str
    opinion: float
    interacted_with: int | None = None
    post_id: int | None = None


@dataclass(slots=True, frozen=True)
class LeaveIntent:
    """Churn: the agent leaves the platform at the end of this tick."""

    agent_id: int
    round_index: int = -1


@dataclass(slots=True, frozen=True)
class JoinIntent:
    """A new agent joins the platform from the next tick."""

    agent: "AgentData"
    round_index: int = -1

    @property
    def agent_id(self) -> int:  # new agents have no id yet; they sort after every other intent
        return 1 << 62


@dataclass(slots=True, frozen=True)
class RecallIntent:
    """Memories recalled into one of the agent's prompts this round: each recall reinforces its
    memory from the next tick on (agent_models.memory)."""

    agent_id: int
    round_index: int
    memory_ids: tuple[int, ...]


@dataclass(slots=True, frozen=True)
class SurveyAnswerIntent:
    """An agent's answer to a survey of this tick (agent_models.surveys), for `interviews`."""

    agent_id: int
    round_index: int
    survey: str  # its label
    question: str
    answer: str | None  # None: no usable answer (see outcome)
    model: str
    prompt_tokens: int
    completion_tokens: int
    outcome: str


Intent = (PostIntent | CommentIntent | ReactionIntent | FollowIntent | VoteIntent | InterestIntent | OpinionIntent
          | LeaveIntent | JoinIntent | RecallIntent | SurveyAnswerIntent)


@dataclass(slots=True, frozen=True)
class ActionRecord:
    """The outcome of one round of one agent: which action it chose and what became of it."""

    agent_id: int
    round_index: int
    action: str
    status: ActionStatus
    detail: str = ""


@dataclass(slots=True, frozen=True)
class LLMCallRecord:
    """One LLM request as the client made it. `latency_ms` is the server's round trip (every
    attempt's, summed); `wait_ms` the time the request waited for one of the client's concurrency
    slots before it was sent, so a full queue shows as waiting, not as a slow server."""

    agent_id: int
    round_index: int
    function: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    outcome: LLMOutcome
    error: str = ""
    cache_key: str = ""  # the request's key in the response cache
    response: str | None = None  # a new answer, for the apply phase to store in the cache
    wait_ms: float = 0.0

    @property
    def is_error(self) -> bool:
        """Whether this call counts as an LLM error (`LLM_ERROR_OUTCOMES`)."""
        return self.outcome in LLM_ERROR_OUTCOMES


@dataclass(slots=True)
class BatchResult:
    """Everything one batch of agents produced in a tick."""

    intents: list[Intent] = field(default_factory=list)
    actions: list[ActionRecord] = field(default_factory=list)
    llm_calls: list[LLMCallRecord] = field(default_factory=list)
    # Per agent function, the task runs that served its LLM requests and the retries they took:
    # {"post_content": (runs, retries)} (tasks.function_runs); for the tick's report, not written.
    function_runs: dict[str, tuple[int, int]] = field(default_factory=dict)

    def extend(self, other: "BatchResult") -> None:
        self.intents.extend(other.intents)
        self.actions.extend(other.actions)
        self.llm_calls.extend(other.llm_calls)
        for name, (runs, retries) in other.function_runs.items():
            had_runs, had_retries = self.function_runs.get(name, (0, 0))
            self.function_runs[name] = (had_runs + runs, had_retries + retries)
