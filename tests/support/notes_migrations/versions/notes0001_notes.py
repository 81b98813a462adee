"""The notes read model and the notes-counter consumer's table.

Revision ID: notes0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access

revision = "notes0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes_notes",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "notes_counters",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    grant_app_access(op, "notes_notes")
    enable_tenant_rls(op, "notes_notes")
    grant_app_access(op, "notes_counters")  # no tenant rows: a platform-wide count


def downgrade() -> None:
    op.drop_table("notes_counters")
    op.drop_table("notes_notes")
