"""phone numbers and Signal identities encrypted at rest, keyed-hash lookups, due jobs (retention)

Existing numbers are encrypted and hashed here, with CAREBOT_SECRET_KEY (from the
environment or .env); without it the upgrade stops with one line if there is
anything to encrypt.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import carebot.store.models
from carebot.store import crypto

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _has_numbers(conn) -> bool:
    for name, pairs in crypto.COLUMNS.items():
        cols = [c for c, _ in pairs]
        where = " OR ".join(f"{c} IS NOT NULL" for c in cols)
        if conn.execute(sa.text(f"SELECT 1 FROM {name} WHERE {where} LIMIT 1")).first():
            return True
    return False


def _keyring(conn, doing: str) -> crypto.Keyring | None:
    """The configured key; None when nothing needs one. MissingKey (one line) when it is needed and absent."""
    if not _has_numbers(conn):
        return None
    secret = crypto.configured_secret()
    if secret is None:
        raise crypto.MissingKey(f"{crypto.ENV} is not set, and the database holds phone numbers to {doing}: "
                                "make a key with `carebot key new`, set it (see .env.example), then upgrade again")
    return crypto.Keyring(secret)


def upgrade() -> None:
    conn = op.get_bind()
    keyring = _keyring(conn, "encrypt")
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('signal_hash', sa.String(length=64), nullable=True))
        batch_op.drop_constraint('uq_members_phone', type_='unique')
        batch_op.drop_constraint('uq_members_signal_uuid', type_='unique')
        batch_op.alter_column('phone', existing_type=sa.String(length=20), type_=sa.Text(), existing_nullable=True)
        batch_op.alter_column('signal_uuid', existing_type=sa.String(length=64), type_=sa.Text(),
                              existing_nullable=True)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_hash', sa.String(length=64), nullable=True))
        batch_op.alter_column('address', existing_type=sa.String(length=64), type_=sa.Text(),
                              existing_nullable=False)

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender_hash', sa.String(length=64), nullable=True))
        batch_op.alter_column('sender', existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=True)
        batch_op.alter_column('sender_uuid', existing_type=sa.String(length=64), type_=sa.Text(),
                              existing_nullable=True)

    if keyring is not None:
        # The plaintext numbers become ciphertext in this same transaction.
        crypto.rewrite(conn, lambda plain: plain, keyring)

    # The unique keys move to the hashes only now that every hash is filled in.
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_members_phone_hash'), ['phone_hash'])
        batch_op.create_unique_constraint(batch_op.f('uq_members_signal_hash'), ['signal_hash'])
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_address_hash'), ['address_hash'], unique=False)

    op.create_table('due_jobs',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('due_at', carebot.store.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_due_jobs'))
    )


def downgrade() -> None:
    conn = op.get_bind()
    keyring = _keyring(conn, "decrypt")
    op.drop_table('due_jobs')
    if keyring is not None:
        crypto.decrypt_all(conn, keyring)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_address_hash'))
        batch_op.alter_column('address', existing_type=sa.Text(), type_=sa.String(length=64),
                              existing_nullable=False)
        batch_op.drop_column('address_hash')

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.alter_column('sender', existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=True)
        batch_op.alter_column('sender_uuid', existing_type=sa.Text(), type_=sa.String(length=64),
                              existing_nullable=True)
        batch_op.drop_column('sender_hash')

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_constraint('uq_members_signal_hash', type_='unique')
        batch_op.drop_constraint('uq_members_phone_hash', type_='unique')
        batch_op.alter_column('phone', existing_type=sa.Text(), type_=sa.String(length=20), existing_nullable=True)
        batch_op.alter_column('signal_uuid', existing_type=sa.Text(), type_=sa.String(length=64),
                              existing_nullable=True)
        batch_op.create_unique_constraint('uq_members_phone', ['phone'])
        batch_op.create_unique_constraint('uq_members_signal_uuid', ['signal_uuid'])
        batch_op.drop_column('signal_hash')
        batch_op.drop_column('phone_hash')
