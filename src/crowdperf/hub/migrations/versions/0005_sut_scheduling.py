"""How crowdperf's SUT fed LoadGen: two columns on ``results`` read from a run's provenance.json.

``batch_size`` (the effective batch size queries were cut into; its default depends on the device)
and ``sut_workers_per_device`` (worker threads per device; 0 for an inline scenario). Two results
of one comparison key may differ only in these, and then differ a lot: the hub shows them so a
reader can see it and reproduce a run. Rows stored before keep NULL ("not recorded"), as do
official results (no provenance.json); the next import of a tree that now carries provenance.json
fills the row in (``import_writer.adopt_unread_row``) instead of storing the result twice.

No index: nothing filters or sorts on them.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("results", sa.Column("batch_size", sa.Integer(), nullable=True))
    op.add_column("results", sa.Column("sut_workers_per_device", sa.Integer(), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35 has it), never a batch copy of the table: that would drop
    # migration 0003's triggers on results with it
    op.drop_column("results", "sut_workers_per_device")
    op.drop_column("results", "batch_size")
