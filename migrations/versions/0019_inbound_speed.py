"""indexes for the inbound path: a member's recent texts (flood check), a group's coordinators

Both are read for every text a member sends; without them each read grows with
the group (its memberships) or with everyone's recent traffic (a round's rush).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 00:00:00
"""

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_inbound_member_received', 'inbound_messages', ['member_id', 'received_at'])
    op.create_index('ix_memberships_role', 'memberships', ['group_id', 'role'])


def downgrade() -> None:
    op.drop_index('ix_memberships_role', table_name='memberships')
    op.drop_index('ix_inbound_member_received', table_name='inbound_messages')
