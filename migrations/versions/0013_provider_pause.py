"""a provider's pause (Signal's rate limit or captcha) in its own record, so it outlives a restart

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-30 21:35:00
"""

import sqlalchemy as sa
from alembic import op

from carebot.store.models import UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'provider_pauses',
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('until', UTCDateTime(), nullable=False),
        sa.Column('pauses', sa.Integer(), nullable=False),
        sa.Column('told', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('channel'),
    )


def downgrade() -> None:
    op.drop_table('provider_pauses')
