"""inbound queue: web processes store texts, a worker handles them

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import carebot.store.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('sender_uuid', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('handled_at', carebot.store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_inbound_messages_handled_at'), ['handled_at'], unique=False)
    # Before this revision every text was handled as it came in.
    op.execute("UPDATE inbound_messages SET handled_at = received_at")


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_messages_handled_at'))
        batch_op.drop_column('attempts')
        batch_op.drop_column('handled_at')
        batch_op.drop_column('body')
        batch_op.drop_column('sender_uuid')
        batch_op.drop_column('sender')
