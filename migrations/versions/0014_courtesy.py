"""when a member's thanks was last answered (at most once a day); each group's SMS folding to GSM-7 (on)

Revision ID: 0014
Revises: 0008
Create Date: 2026-11-30 21:25:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('courtesy_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_fold', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_column('sms_fold')

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('courtesy_at')
