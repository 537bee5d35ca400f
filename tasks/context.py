"""What every task of a tick needs to know, passed by value across the Ray boundary."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent_models import BatchResult, RunConfig
from agent_models.intents import ArticleRef
from agent_models.memory import Memory
from db import ServedFeed


@dataclass(slots=True, frozen=True)
class TickContext:
    run_id: int
    tick: int
    config: RunConfig
    same_tick_visible: bool = False  # single-agent calls see posts of their own tick (see FeedContext)

    @property
    def db_url(self) -> str:
        return self.config.database.url

    @property
    def seed(self) -> int:
        return self.config.simulation.seed


@dataclass(slots=True, frozen=True)
class PostView:
    """A post as an agent reads it."""

    post_id: int
    author: str
    text: str
    author_id: int = 0
    topics: tuple[str, ...] = ()
    article: ArticleRef | None = None  # the news article the post carries, if any


@dataclass(slots=True)
class AgentReads:
    """What the read phase fetched for one agent, for the actions its rounds may take."""

    feed: list[PostView] = field(default_factory=list)  # COMMENT, READ, CAST, SHARE
    threads: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # post id -> (author, text)
    follow_suggestions: dict[int, float] = field(default_factory=dict)  # FOLLOW
    search_results: list[PostView] = field(default_factory=list)  # SEARCH
    shareable: list[PostView] = field(default_factory=list)  # SHARE: visible posts with an article
    mentions: list[tuple[int, PostView]] = field(default_factory=list)  # replies: (mention id, post)
    current_interests: list[str] = field(default_factory=list)  # POST
    followees: set[int] = field(default_factory=set)  # secondary follow
    opinions: dict[int, dict[str, float]] = field(default_factory=dict)  # own and authors', by agent id
    article: ArticleRef | None = None  # NEWS: the article a page posts
    article_problem: str = ""  # NEWS: why there is no article (an unreadable feed)
    memories: list[Memory] = field(default_factory=list)  # its stored memories, with memory on


@dataclass(slots=True)
class BatchReads:
    """The read phase's result for a batch: what each agent sees, and the feeds to log."""

    by_agent: dict[int, AgentReads] = field(default_factory=dict)
    served: list[ServedFeed] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # the cpu functions that ran as task runs, in order


@dataclass(slots=True)
class StepOutcome:
    """What one of the registered agent functions returns for a batch."""

    values: dict[int, object] = field(default_factory=dict)  # agent id -> the function's value for it
    result: BatchResult = field(default_factory=BatchResult)  # intents and LLM call records, to apply


class Sealed:
    """A task argument Prefect passes through as it is.

    Prefect (and prefect-ray) walk every argument looking for futures to resolve: for a batch of
    a thousand agents that walk, repeated on submit and in the worker, costs more than the work.
    A tick seals the batches it hands its tasks (it never puts a future inside them); the tasks
    accept a sealed or a plain value.

    A task's sealed result also names the Ray node that computed it (`node`), so a tick can
    report where its work ran.
    """

    __slots__ = ("value", "node")

    def __init__(self, value: object, node: str | None = None) -> None:
        self.value = value
        self.node = node


def unsealed(value):
    return value.value if isinstance(value, Sealed) else value


def sealed_result(value: object) -> Sealed:
    """A task's result, sealed and stamped with the node it was computed on."""
    return Sealed(value, node=ray_node())


def ray_node() -> str:
    """The IP address of the Ray node running this code, or "local" where Ray is not running."""
    import ray  # here, so that plain callers of the phase functions do not pay for importing Ray

    return ray.util.get_node_ip_address() if ray.is_initialized() else "local"
