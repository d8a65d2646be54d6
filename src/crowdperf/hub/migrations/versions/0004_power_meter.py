"""Which meter every power figure came from (issue 11: the hub imports crowdperf's ``power.json``).

Three columns on ``results``: ``power_meter`` ("ptd": spl.txt, the system's wall power logged by
SPEC PTDaemon; "nvml", "rapl" or another crowdperf meter from power.json; "none": no figure),
``power_scope`` ("system" for PTD; "devices" or "host": the role of a software meter) and
``power_note`` (what a software meter measured, or why a result has no figure).

Rows stored before: until now only spl.txt gave a figure, so a row with ``power_w`` is PTD's
("ptd", "system"); a row without keeps NULL, "imported before the hub read power.json" (the next
import of its tree brings its power.json in: ``import_writer.adopt_unread_row``).

No index on the meter: the meter filter rides on the others, and an index on (comparison key,
meter) made SQLite answer a filtered list by scanning every row in that index's order instead of
searching the filter's index (measured: twice the time).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("results", sa.Column("power_meter", sa.String(32), nullable=True))
    op.add_column("results", sa.Column("power_scope", sa.String(16), nullable=True))
    op.add_column("results", sa.Column("power_note", sa.Text(), nullable=True))
    op.execute(
        "UPDATE results SET power_meter = 'ptd', power_scope = 'system' "
        "WHERE power_w IS NOT NULL OR energy_j_per_sample IS NOT NULL"
    )


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35 has it; no trigger, index or view uses these columns), never
    # a batch copy of the table: the copy would leave migration 0003's triggers on results behind
    op.drop_column("results", "power_note")
    op.drop_column("results", "power_scope")
    op.drop_column("results", "power_meter")
