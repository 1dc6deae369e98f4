"""networks of groups: a group's network and overflow time, a request's network question, a pairing across groups

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 23:45:00
"""

import sqlalchemy as sa
from alembic import op

from carebot.store.models import UTCDateTime

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'networks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_networks')),
        sa.UniqueConstraint('code', name=op.f('uq_networks_code')),
    )
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('network_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('overflow_after_hours', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_groups_network_id'), ['network_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_groups_network_id_networks'), 'networks', ['network_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('network_asked_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('network_consent', sa.Boolean(), nullable=True))
    with op.batch_alter_table('pairings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supporter_group_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_pairings_supporter_group_id_groups'), 'groups',
                                    ['supporter_group_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('pairings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_pairings_supporter_group_id_groups'), type_='foreignkey')
        batch_op.drop_column('supporter_group_id')
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_column('network_consent')
        batch_op.drop_column('network_asked_at')
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_groups_network_id_networks'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_groups_network_id'))
        batch_op.drop_column('overflow_after_hours')
        batch_op.drop_column('network_id')
    op.drop_table('networks')
