"""the Twilio channel: provider status and claim time on the outbox, unusable phone numbers

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import carebot.store.models

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_unusable', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', carebot.store.models.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_outbox_provider_id', ['provider_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_provider_id')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('provider_status')

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('phone_unusable')
