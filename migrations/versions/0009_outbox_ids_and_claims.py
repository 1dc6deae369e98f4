"""outbox ids never reused again on SQLite (AUTOINCREMENT back), and which process claimed a row

Migration 0007 rebuilt the outbox in batch mode without AUTOINCREMENT, so
SQLite reused the ids of deleted rows; those ids travel to Twilio in status
callback URLs. The rebuild here restores it (SQLite keeps the highest id the
copy holds; ids deleted before this upgrade above it cannot be known).
``claimed_by`` names the sender process that claimed a row, so the rows of a
process known dead can be settled at once (carebot/lease.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 20:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade() -> None:
    # 'always' on SQLite: AUTOINCREMENT is part of the table's definition, so only a rebuild sets it.
    with op.batch_alter_table('outbox', schema=None, recreate='always' if _sqlite() else 'auto',
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None, recreate='always' if _sqlite() else 'auto',
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('claimed_by')
