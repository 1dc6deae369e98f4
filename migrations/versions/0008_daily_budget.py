"""a daily budget of texts per group, the day its coordinators were told it ran out

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 11:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('daily_budget', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('budget_told_on', sa.Date(), nullable=True))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_group_claimed', ['group_id', 'claimed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_group_claimed')

    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_column('budget_told_on')
        batch_op.drop_column('daily_budget')
