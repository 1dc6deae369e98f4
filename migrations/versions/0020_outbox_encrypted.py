"""texts waiting in the outbox encrypted at rest (a waiting text may carry a number or a care map)

Existing bodies (waiting texts, and the markers sent ones keep) are encrypted here with
CAREBOT_SECRET_KEY (from the environment or .env); without it the upgrade stops with one
line if there is anything to encrypt. No change to the table itself: the column stays TEXT.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

from carebot.store import crypto

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

OUTBOX = sa.table("outbox", sa.column("id"), sa.column("body"))


def _rewrite(change, doing: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(OUTBOX.c.id, OUTBOX.c.body).where(OUTBOX.c.body.is_not(None))).all()
    if not rows:
        return
    secret = crypto.configured_secret()
    if secret is None:
        raise crypto.MissingKey(f"{crypto.ENV} is not set, and the outbox holds texts to {doing}: "
                                "set the key this database uses (see .env.example), then upgrade again")
    keyring = crypto.Keyring(secret)
    conn.execute(OUTBOX.update().where(OUTBOX.c.id == sa.bindparam("row_id")).values(body=sa.bindparam("new_body")),
                 [{"row_id": row_id, "new_body": change(keyring, body)} for row_id, body in rows])


def upgrade() -> None:
    _rewrite(lambda keyring, body: keyring.encrypt(body), "encrypt")


def downgrade() -> None:
    _rewrite(lambda keyring, body: keyring.decrypt(body), "decrypt")
