"""Alembic migrations of ysim's schema; `db.migrate` runs them."""
