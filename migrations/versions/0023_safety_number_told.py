"""when the coordinators were told a member's Signal safety number changed

"Told once" lived in the Signal channel's memory, so each restart of carebot serve
told the coordinators again about the same member. It is kept in the member's row
(a time, no number), cleared when a text to the member goes through again.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 18:20:00
"""

import sqlalchemy as sa
from alembic import op

import carebot.store.models

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safety_number_told_at', carebot.store.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('safety_number_told_at')
