"""a keyed hash of an announcement's words in the coordinators' log

Two coordinators sending the same ANNOUNCE within hours sent it twice. The log row keeps a keyed
hash of the words (never the words), so the same announcement is not sent again within 12 hours.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 03:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('coord_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('coord_actions', schema=None) as batch_op:
        batch_op.drop_column('digest')
