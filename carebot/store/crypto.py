"""Phone numbers and Signal identities encrypted at rest, and found again by a keyed hash.

Every column that holds a number or a Signal UUID is an :class:`EncryptedString`:
AES-256-GCM with a fresh random nonce per value, so the same number never looks
the same twice and a stolen database shows none. Equality lookups go through a
companion column holding :func:`lookup_hash` (HMAC-SHA256), never through the
encrypted column itself: ``Member.by_phone(session, number)`` is the one way to
find a member by number.

Both keys are derived (HKDF-SHA256) from one secret, ``CAREBOT_SECRET_KEY``.
``carebot key new`` makes one; ``carebot key rotate`` moves the database to
another. Without a secret, ``carebot serve`` and the commands that touch a real
database refuse to start; the demo, the chat and transcripts (throw-away
databases) use :func:`use_ephemeral_key`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import ssl
import threading
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, Text, TypeDecorator, bindparam, column, insert, or_, select, table, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import operators

from carebot.domain import startup
from carebot.domain.startup import Refusal

log = logging.getLogger(__name__)

ENV = "CAREBOT_SECRET_KEY"
NEW_ENV = "CAREBOT_NEW_SECRET_KEY"
MIN_SECRET = 32  # characters; `carebot key new` gives 43
PREFIX = "v1:"  # the stored form's version, so a later scheme can tell old values apart
# Binds a ciphertext to carebot's use of it: a value encrypted elsewhere with the same key never decrypts here.
AAD = b"carebot phone v1"
FINGERPRINT_LABEL = b"carebot key fingerprint v1"


class KeyProblem(Refusal):
    """The secret key is missing, malformed or not the database's; one line for the person deploying."""

    exit_code = startup.KEY_MISSING


class MissingKey(KeyProblem):
    pass


class WrongKey(KeyProblem):
    exit_code = startup.KEY_WRONG


WRONG_KEY = (f"{ENV} is not the key this database was encrypted with (a restore, a typo?): set the key it "
             "was made with, from where you keep it; nothing was changed")


NONCE = 12  # bytes: AES-GCM's own size
NONCES_A_BLOCK = 512


class _Nonces:
    """Each value's nonce: 12 bytes cut from a block of OpenSSL's random bytes (a CSPRNG), each used once.

    Not ``os.urandom``: CPython lets go of the interpreter lock around each
    getrandom() call, and a thread that lets go of it must wait to have it back
    while another thread runs Python. The texts coming in are encrypted on the
    thread that stores them while the event loop answers webhooks, so each of a
    text's two nonces made one of them wait for the other (os.urandom beside one
    busy thread: 0.7 µs alone, 40-130 µs on average). ``ssl.RAND_bytes`` keeps
    the lock; one call a block rather than one a value, since each call costs
    about as much as the encryption itself on that thread. A forked child
    starts a block of its own, so it never repeats the parent's nonces.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the writer thread and the database worker both encrypt
        self._block, self._at = b"", 0

    def take(self) -> bytes:
        with self._lock:
            if self._at >= len(self._block):
                self._block, self._at = ssl.RAND_bytes(NONCE * NONCES_A_BLOCK), 0
            nonce = self._block[self._at:self._at + NONCE]
            self._at += NONCE
            return nonce

    def forget(self) -> None:
        """In a forked child: the parent's block is the parent's."""
        self._lock = threading.Lock()
        self._block, self._at = b"", 0


_nonces = _Nonces()
os.register_at_fork(after_in_child=_nonces.forget)


def new_secret() -> str:
    """A fresh secret for CAREBOT_SECRET_KEY (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"carebot " + purpose).derive(secret)


class Keyring:
    """The two keys derived from one secret: one encrypts, the other hashes for lookups."""

    def __init__(self, secret: str, *, named: str = ENV) -> None:
        """``named``: what the refusal of a short secret calls it (the setting or option it came from)."""
        secret = (secret or "").strip()
        if len(secret) < MIN_SECRET:
            raise MissingKey(f"{named} is too short (at least {MIN_SECRET} characters): "
                             "make one with `carebot key new`")
        raw = secret.encode()
        self._aead = AESGCM(_derive(raw, b"encryption"))
        self._mac_key = _derive(raw, b"lookup hash")
        # What the database records to know its key again: an HMAC of a fixed label, never the key.
        self.fingerprint = hmac.new(_derive(raw, b"fingerprint"), FINGERPRINT_LABEL, hashlib.sha256).hexdigest()

    def encrypt(self, value: str) -> str:
        nonce = _nonces.take()
        sealed = self._aead.encrypt(nonce, value.encode(), AAD)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            raise WrongKey("a stored number is not encrypted: run `carebot db upgrade` first")
        raw = base64.urlsafe_b64decode(stored[len(PREFIX):])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], AAD).decode()
        except InvalidTag:
            raise WrongKey(f"a stored number does not decrypt: {ENV} is not the key this database "
                           "was encrypted with") from None

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()


_active: Keyring | None = None


def configure(secret: str) -> Keyring:
    """Make ``secret`` the key every encrypted column uses from now on."""
    global _active
    _active = Keyring(secret)
    return _active


def configured_secret() -> str | None:
    """CAREBOT_SECRET_KEY from the environment or .env, if set."""
    from carebot.domain.config import load_settings

    secret = load_settings().carebot_secret_key
    return secret.get_secret_value() if secret is not None and secret.get_secret_value().strip() else None


def require_key() -> Keyring:
    """The configured key, or MissingKey with one line saying what to do."""
    if _active is not None:
        return _active
    secret = configured_secret()
    if secret is None:
        raise MissingKey(f"{ENV} is not set: carebot encrypts phone numbers with it. "
                         "Make one with `carebot key new`, keep it safe, and set it (see .env.example)")
    return configure(secret)


def use_ephemeral_key() -> Keyring:
    """For throw-away databases (demo, chat, transcripts, tests): the configured key, else a random one.

    A random key lives as long as this process, and so can what it encrypts.
    """
    global _active
    if _active is None:
        secret = configured_secret()
        _active = Keyring(secret or new_secret())
    return _active


def active() -> Keyring:
    return require_key()


def lookup_hash(value: str | None) -> str | None:
    """The keyed hash that finds ``value`` (an E.164 number or a Signal UUID) without revealing it."""
    return None if value is None else active().lookup_hash(value)


def sender_hash(sender: str | None, sender_uuid: str | None) -> str:
    """One inbound sender (number and Signal UUID together), for keeping a sender's texts in order."""
    return active().lookup_hash(f"{sender or ''}\x1f{sender_uuid or ''}")


def hash_default(source: str) -> Callable[[Any], str | None]:
    """A column default that hashes the ``source`` column of the same insert (Core bulk inserts too)."""

    def default(context: Any) -> str | None:
        return lookup_hash(context.get_current_parameters().get(source))

    return default


_NEVER_MATCH = frozenset({operators.eq, operators.ne, operators.in_op, operators.not_in_op,
                          operators.is_distinct_from, operators.is_not_distinct_from})


class EncryptedString(TypeDecorator[str]):
    """Text stored encrypted (AES-GCM), read and written as plain text by the rest of carebot.

    Never compare it in SQL: each value has its own nonce. Use the hash column.
    """

    impl = Text
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator):  # noqa: N801 (SQLAlchemy's name)
        """Refuses SQL comparisons that could never match, pointing at the hash column."""

        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op in _NEVER_MATCH and not (other and other[0] is None and op in (operators.eq, operators.ne)):
                raise TypeError("an encrypted column cannot be compared in SQL: compare its keyed hash "
                                "(carebot.store.crypto.lookup_hash, Member.by_phone) instead")
            return super().operate(op, *other, **kwargs)

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else active().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else active().decrypt(value)


# --- rewriting every encrypted value (the migration and key rotation) ---------------------

# table -> (encrypted column, its hash column or None); inbound senders share one hash.
COLUMNS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "members": (("phone", "phone_hash"), ("signal_uuid", "signal_hash")),
    "outbox": (("address", "address_hash"),),
    "inbound_messages": (("sender", None), ("sender_uuid", None)),
}
# Encrypted texts that came after the numbers (migration 0007 encrypts COLUMNS only, as the
# tables stood then): key rotation moves them too.
TEXTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "care_maps": (("helps", None), ("hurts", None), ("also", None)),
    # A text waiting to be sent (for the member's morning, the budget, a retry) may carry a number or
    # a care map (migration 0020); once sent, only a marker is kept.
    "outbox": (("body", None),),
    # A member's text waiting in the inbound queue, until it is handled (migration 0022).
    "inbound_messages": (("body", None),),
}
# Every encrypted column, by table (a table may have columns of both kinds).
ENCRYPTED: dict[str, tuple[tuple[str, str | None], ...]] = {
    name: COLUMNS.get(name, ()) + TEXTS.get(name, ()) for name in {**COLUMNS, **TEXTS}
}


def rewrite(conn: Connection, read: Callable[[str], str], keyring: Keyring,
            columns: dict[str, tuple[tuple[str, str | None], ...]] = COLUMNS) -> int:
    """Re-encrypt and re-hash every stored number with ``keyring``; how many rows changed.

    ``read`` turns a stored value into the plain one: identity for plaintext
    (the upgrade), the old key's decrypt for a rotation. Runs in the caller's
    transaction, so a failure leaves every row as it was.
    """
    changed = 0
    for name, pairs in columns.items():
        names = [c for c, _ in pairs]
        hashes_ = [h for _, h in pairs if h] + (["sender_hash"] if name == "inbound_messages" else [])
        tbl = table(name, column("id"), *(column(c) for c in names + hashes_))
        rows = conn.execute(tbl.select().where(
            or_(*(tbl.c[c].is_not(None) for c in names)))).mappings().all()
        updates = []
        for row in rows:
            plain = {c: None if row[c] is None else read(row[c]) for c in names}
            values: dict[str, Any] = {c: None if v is None else keyring.encrypt(v) for c, v in plain.items()}
            for c, h in pairs:
                if h:
                    values[h] = None if (value := plain[c]) is None else keyring.lookup_hash(value)
            if name == "inbound_messages":
                values["sender_hash"] = keyring.lookup_hash(f"{plain['sender'] or ''}\x1f{plain['sender_uuid'] or ''}")
            updates.append({"row_id": row["id"], **{f"new_{k}": v for k, v in values.items()}})
        if updates:
            conn.execute(tbl.update().where(tbl.c.id == bindparam("row_id"))
                         .values({k: bindparam(f"new_{k}") for k in names + hashes_}), updates)
            changed += len(updates)
    return changed


def rotate(db: Any, old: Keyring, new: Keyring) -> int:
    """Move every stored number from ``old`` to ``new`` in one transaction; how many rows changed.

    Safe to run again: a crash rolls the whole transaction back, and once the
    database is the new key's, running it again changes nothing
    (AlreadyRotated). A value already under the new key is kept as it is.
    """
    if old.fingerprint == new.fingerprint:
        raise KeyProblem("the new key is the same as the old one")
    with db.engine.begin() as conn:
        stored = stored_fingerprint(conn)
        if stored == new.fingerprint:
            raise AlreadyRotated("the database is already encrypted with the new key: set "
                                 f"{ENV} to it and start carebot again")
        try:
            verify(conn, old, record=False)
        except WrongKey:
            if stored is not None:
                raise
            verify(conn, new, record=False)  # no fingerprint yet: a sample under the new key is a cut-short rotation

        def read(value: str) -> str:
            try:
                return old.decrypt(value)
            except WrongKey:
                return new.decrypt(value)  # moved already; WrongKey again if it is neither key's

        changed = rewrite(conn, read, new, ENCRYPTED)
        record_fingerprint(conn, new, replace=True)
        return changed


class AlreadyRotated(KeyProblem):
    """``key rotate`` ran already: nothing left to do (exit 0)."""


# --- which key the database is encrypted with ---------------------------------------------

FINGERPRINTS = table("key_fingerprint", column("id"), column("fingerprint"))


def stored_fingerprint(conn: Connection) -> str | None:
    return conn.execute(select(FINGERPRINTS.c.fingerprint).where(FINGERPRINTS.c.id == 1)).scalar()


def _any_stored_value(conn: Connection) -> str | None:
    for name, pairs in COLUMNS.items():
        for col, _ in pairs:
            tbl = table(name, column(col))
            found = conn.execute(select(tbl.c[col]).where(tbl.c[col].is_not(None)).limit(1)).scalar()
            if found is not None:
                return found
    return None


def record_fingerprint(conn: Connection, keyring: Keyring, *, replace: bool = False) -> None:
    if replace and stored_fingerprint(conn) is not None:
        conn.execute(update(FINGERPRINTS).where(FINGERPRINTS.c.id == 1).values(fingerprint=keyring.fingerprint))
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(FINGERPRINTS).values(id=1, fingerprint=keyring.fingerprint))
    except IntegrityError:  # another process recorded one first: it must be this key's too
        if stored_fingerprint(conn) != keyring.fingerprint:
            raise WrongKey(WRONG_KEY) from None


def verify(conn: Connection, keyring: Keyring, *, record: bool = True) -> str:
    """Refuse (WrongKey, one line) a key that is not the database's; how it knows.

    The database's fingerprint decides. A database without one yet (made
    before carebot recorded it) is checked by decrypting a stored number, then
    the fingerprint is recorded when ``record`` (an empty database takes the
    key it is first used with). Returns "matches", "recorded" or "unrecorded".
    """
    stored = stored_fingerprint(conn)
    if stored is not None:
        if not hmac.compare_digest(stored, keyring.fingerprint):
            raise WrongKey(WRONG_KEY)
        return "matches"
    value = _any_stored_value(conn)
    if value is not None:
        try:
            keyring.decrypt(value)
        except WrongKey:
            raise WrongKey(WRONG_KEY) from None
    if not record:
        return "unrecorded"
    record_fingerprint(conn, keyring)
    return "recorded"


def decrypt_all(conn: Connection, keyring: Keyring) -> int:
    """Put every stored number back in plain text (the downgrade); how many rows changed."""
    changed = 0
    for name, pairs in COLUMNS.items():
        names = [c for c, _ in pairs]
        tbl = table(name, column("id"), *(column(c) for c in names))
        rows = conn.execute(tbl.select()).mappings().all()
        updates = [{"row_id": r["id"], **{f"new_{c}": None if r[c] is None else keyring.decrypt(r[c])
                                          for c in names}}
                   for r in rows if any(r[c] is not None for c in names)]
        if updates:
            conn.execute(tbl.update().where(tbl.c.id == bindparam("row_id"))
                         .values({c: bindparam(f"new_{c}") for c in names}), updates)
            changed += len(updates)
    return changed
