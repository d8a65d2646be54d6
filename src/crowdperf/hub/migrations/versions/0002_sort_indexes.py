"""Indexes for the query layer's common sorts and groupings.

PostgreSQL sorts NULLs first in DESC order, so ``ORDER BY x DESC NULLS LAST`` (what the query layer
sends) needs an index built that way; SQLite puts NULLs last in DESC order already and cannot declare
NULLS LAST in an index, so those are PostgreSQL-only. The case-insensitive substring filters
(accelerator, submitter, system) get trigram GIN indexes on PostgreSQL when the ``pg_trgm``
extension can be created (trusted since PostgreSQL 13: the database owner may); otherwise they
scan. Kept out of models.py on purpose (expression indexes per dialect); autogenerate must not be
used to drop them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_DESC_NULLS_LAST = ("throughput", "accuracy_f1", "throughput_per_accelerator", "imported_at")
_SUBSTRING = ("accelerator", "submitter", "system_name")


def _trigram_indexes() -> None:
    """GIN trigram indexes for the substring filters, when pg_trgm can be had; else nothing."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():  # a failure must not abort the migration's transaction
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            # the extension may live in another schema than ours: qualify its operator class
            schema = bind.exec_driver_sql(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
            ).scalar_one()
            for column in _SUBSTRING:
                bind.exec_driver_sql(
                    f"CREATE INDEX ix_results_{column}_trgm ON results "
                    f"USING gin (lower({column}) {schema}.gin_trgm_ops)"
                )
    except sa.exc.DBAPIError:
        return


def upgrade() -> None:
    op.create_index("ix_results_scenario_key", "results", ["scenario", "comparison_key"])
    if op.get_bind().dialect.name == "postgresql":
        for column in _DESC_NULLS_LAST:
            op.create_index(
                f"ix_results_{column}_desc", "results", [sa.text(f"{column} DESC NULLS LAST"), "id"]
            )
        _trigram_indexes()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in _SUBSTRING:
            op.execute(f"DROP INDEX IF EXISTS ix_results_{column}_trgm")
        for column in _DESC_NULLS_LAST:
            op.drop_index(f"ix_results_{column}_desc", table_name="results")
    op.drop_index("ix_results_scenario_key", table_name="results")
