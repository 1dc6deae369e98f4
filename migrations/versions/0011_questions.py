"""questions waiting their turn (one asked at a time, care first); how long ended pairs stay apart

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-30 20:45:00
"""

import sqlalchemy as sa
from alembic import op

from carebot.store.models import UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'queued_questions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('flow', sa.String(length=32), nullable=False),
        sa.Column('step', sa.String(length=32), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('prompt', sa.Text(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_queued_questions_group_id_groups'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_queued_questions_member_id_members'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_queued_questions')),
    )
    with op.batch_alter_table('queued_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queued_questions_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_queued_questions_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pair_again_after_days', sa.Integer(), server_default='28', nullable=False))
    # Only REMOVE ever set "left": it now says what it is, and JOIN alone no longer undoes it.
    op.execute("UPDATE memberships SET status = 'removed' WHERE status = 'left'")


def downgrade() -> None:
    op.execute("UPDATE memberships SET status = 'left' WHERE status = 'removed'")
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_column('pair_again_after_days')
    with op.batch_alter_table('queued_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queued_questions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_queued_questions_member_id'))
    op.drop_table('queued_questions')
