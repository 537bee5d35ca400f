"""A tick whose write breaks a database constraint other than the ledger's fails with that error.

Only the tick's own ledger row, committed by another attempt, means "already committed". The
test makes a real constraint fail inside the writer's transaction: a trigger on the ledger table
inserts an emotion label that another run already registered (the `emotions` table is shared by
all runs, as Y Social's is), so the unique constraint on `emotions.emotion` refuses it, at the
very statement where a racing retry would fail. The tick must fail, write nothing, and leave the
run to resume at that tick.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from db import create_schema, get_engine, session_factory
from db.models import ActionRow, EmotionRow, LLMCallRow, PostRow, TickRow
from flows.simulation import simulation_flow
from tasks.run_state import find_run
from tests.conftest import make_config

LABEL = "taken-by-another-run"
TRIGGERS = {
    "sqlite": [
        f"CREATE TRIGGER clash AFTER INSERT ON ticks BEGIN INSERT INTO emotions (emotion) VALUES ('{LABEL}'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION clash() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN INSERT INTO emotions (emotion) VALUES ('{LABEL}'); RETURN NEW; END $$",
        "CREATE TRIGGER clash AFTER INSERT ON ticks FOR EACH ROW EXECUTE FUNCTION clash()",
    ],
}


def test_a_constraint_other_than_the_ledgers_fails_the_tick_and_writes_nothing(ray_session, llm_stub, db_url):
    create_schema(db_url)
    with session_factory(db_url).begin() as session:
        session.add(EmotionRow(emotion=LABEL))  # as another run sharing the database would have
    with get_engine(db_url).begin() as connection:
        for statement in TRIGGERS[connection.dialect.name]:
            connection.execute(text(statement))
    config = make_config(db_url, llm_stub.url, simulation={"ticks": 1}, agents={"count": 4})

    with pytest.raises(IntegrityError, match="emotion"):  # the constraint's own error, not "already committed"
        simulation_flow(config)

    assert len(llm_stub.state.requests) > 0  # the tick ran up to its write
    with session_factory(db_url).begin() as session:
        for model in (TickRow, PostRow, ActionRow, LLMCallRow):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model.__tablename__
        assert session.scalar(select(func.count()).select_from(EmotionRow)) == 1  # the trigger's row rolled back
    run = find_run(db_url)
    assert run is not None and (run.ticks_committed, run.next_tick) == (0, 0)  # a resume starts at this tick
