"""the inbound queue's indexes hold only the rows their queries read

Each webhook's insert wrote an entry into four indexes, two of them for rows
that no query of theirs reads: a waiting text has no member yet (the flood
check reads a member's texts), and the worker's queue index held every text
ever handled. Now the member index holds only texts with a member, and the
queue index only waiting texts (partial indexes, on SQLite and PostgreSQL): an
insert writes one entry fewer, and the queue's index stays as small as the queue.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

_HAS_MEMBER = sa.text('member_id IS NOT NULL')
_WAITING = sa.text('handled_at IS NULL')


def upgrade() -> None:
    op.drop_index('ix_inbound_member_received', table_name='inbound_messages')
    op.create_index('ix_inbound_member_received', 'inbound_messages', ['member_id', 'received_at'],
                    sqlite_where=_HAS_MEMBER, postgresql_where=_HAS_MEMBER)
    op.drop_index('ix_inbound_messages_handled_at', table_name='inbound_messages')
    op.create_index('ix_inbound_waiting', 'inbound_messages', ['id'],
                    sqlite_where=_WAITING, postgresql_where=_WAITING)


def downgrade() -> None:
    op.drop_index('ix_inbound_waiting', table_name='inbound_messages')
    op.create_index('ix_inbound_messages_handled_at', 'inbound_messages', ['handled_at'])
    op.drop_index('ix_inbound_member_received', table_name='inbound_messages')
    op.create_index('ix_inbound_member_received', 'inbound_messages', ['member_id', 'received_at'])
