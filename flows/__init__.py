"""Orchestration: the tick and simulation flows, Ray setup, the Prefect API, the CLI and run config.

Flows call tasks and never open a database session themselves.
"""
