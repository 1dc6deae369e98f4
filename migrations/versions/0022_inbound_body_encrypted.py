"""texts waiting in the inbound queue encrypted at rest (a member's words, until they are handled)

A text is stored when its webhook comes and handled a moment later, when its body is cleared; but
a text waits longer while the worker is stopped, or while its handling keeps failing, and a backup
taken meanwhile would hold the member's words in plain text. Existing bodies are encrypted here
with CAREBOT_SECRET_KEY (from the environment or .env); without it the upgrade stops with one line
if there is anything to encrypt. No change to the table itself: the column stays TEXT.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

from carebot.store import crypto

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

INBOUND = sa.table("inbound_messages", sa.column("id"), sa.column("body"))


def _rewrite(change, doing: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(INBOUND.c.id, INBOUND.c.body).where(INBOUND.c.body.is_not(None))).all()
    if not rows:
        return
    secret = crypto.configured_secret()
    if secret is None:
        raise crypto.MissingKey(f"{crypto.ENV} is not set, and the inbound queue holds texts to {doing}: "
                                "set the key this database uses (see .env.example), then upgrade again")
    keyring = crypto.Keyring(secret)
    conn.execute(INBOUND.update().where(INBOUND.c.id == sa.bindparam("row_id")).values(body=sa.bindparam("new_body")),
                 [{"row_id": row_id, "new_body": change(keyring, body)} for row_id, body in rows])


def upgrade() -> None:
    _rewrite(lambda keyring, body: keyring.encrypt(body), "encrypt")


def downgrade() -> None:
    _rewrite(lambda keyring, body: keyring.decrypt(body), "decrypt")
