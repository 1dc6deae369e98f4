"""the hashed dedupe keys of inbound texts retention deleted, so a replayed webhook never acts again

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30 20:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inbound_seen',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_inbound_seen')),
    )


def downgrade() -> None:
    op.drop_table('inbound_seen')
