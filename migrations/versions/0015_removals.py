"""removals by coordinators, kept apart from the member (a keyed hash, the group, when) so FORGET does not undo them

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 23:40:00
"""

import sqlalchemy as sa
from alembic import op

from carebot.store.models import UTCDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'removals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identity_hash', sa.String(length=64), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_removals_group_id_groups'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_removals')),
        sa.UniqueConstraint('identity_hash', 'group_id', name=op.f('uq_removals_identity_hash')),
    )
    with op.batch_alter_table('removals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_removals_identity_hash'), ['identity_hash'], unique=False)
    # Members removed before this table existed keep their removal (dated when they were invited,
    # the nearest time carebot kept).
    for column in ('phone_hash', 'signal_hash'):
        op.execute(
            "INSERT INTO removals (identity_hash, group_id, at) "
            f"SELECT members.{column}, memberships.group_id, memberships.created_at "
            "FROM memberships JOIN members ON members.id = memberships.member_id "
            f"WHERE memberships.status = 'removed' AND members.{column} IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table('removals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_removals_identity_hash'))
    op.drop_table('removals')
