"""the fingerprint of the key the numbers are encrypted with (an HMAC of a fixed label, never the key)

Every command compares it with its own CAREBOT_SECRET_KEY and refuses another key
(carebot.store.crypto.verify); the first command run with the right key records it.

Revision ID: 0012
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'key_fingerprint',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_key_fingerprint')),
    )


def downgrade() -> None:
    op.drop_table('key_fingerprint')
