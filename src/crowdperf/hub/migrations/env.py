"""Alembic environment for the hub. ``crowdperf.hub.store.open_store`` runs it programmatically,
handing over an open connection in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context

from crowdperf.hub.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    from sqlalchemy import create_engine

    connection = create_engine(context.config.get_main_option("sqlalchemy.url") or "").connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER TABLE needs batch mode
)
with context.begin_transaction():
    context.run_migrations()
