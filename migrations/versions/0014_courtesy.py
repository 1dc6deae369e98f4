"""when a member's thanks or greeting was last answered (answered at most once a day)

Revision ID: 0014
Revises: 0008
Create Date: 2026-11-30 21:25:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('courtesy_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('courtesy_at')
