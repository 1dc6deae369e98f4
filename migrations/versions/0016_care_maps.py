"""care maps (MAP): a member's own words on what helps, encrypted at rest, and whether they are shared

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 23:50:00
"""

import sqlalchemy as sa
from alembic import op

from carebot.store.models import UTCDateTime

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # helps, hurts and also hold ciphertext (carebot.store.crypto.EncryptedString): text columns.
    op.create_table(
        'care_maps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('draft', sa.Boolean(), nullable=False),
        sa.Column('helps', sa.Text(), nullable=True),
        sa.Column('hurts', sa.Text(), nullable=True),
        sa.Column('also', sa.Text(), nullable=True),
        sa.Column('shared', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_care_maps_member_id_members'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_care_maps')),
        sa.UniqueConstraint('member_id', 'draft', name=op.f('uq_care_maps_member_id')),
    )
    with op.batch_alter_table('care_maps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_maps_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('care_maps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_maps_member_id'))
    op.drop_table('care_maps')
