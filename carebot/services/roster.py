"""Importing a roster: invitations (never memberships) for the people a volunteer lists."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from carebot.domain.phone import normalize_phone
from carebot.domain.vocabulary import Role
from carebot.services.coordination import invite
from carebot.store import removals
from carebot.store.models import Group

REASONS = {
    "bad_number": "not a phone number carebot can text",
    "already": "already in the group",
    "recent": "invited less than a month ago",
    "cannot": "this number has opted out or cannot receive texts",
    "duplicate": "the same number appears earlier in the file",
    "no_number": "no phone number",
    "role": "role must be member or coordinator (miembro or coordinador)",
    "removed": "the group's coordinators removed this person; only their ADD invites them again",
}


# The header's names carebot reads (accents and case aside), English and Spanish.
COLUMNS = {"phone": ("phone", "phone number", "telefono", "numero"), "name": ("name", "nombre"), "role": ("role", "rol")}
# A roster with Spanish headers may name the roles in Spanish too, in any gender.
SPANISH_ROLES = {**dict.fromkeys(("coordinador", "coordinadora", "coordinadore"), Role.COORDINATOR.value),
                 **dict.fromkeys(("miembro", "miembra", "miembre"), Role.MEMBER.value)}
KNOWN_COLUMNS = ", ".join(f"{column} (or {', '.join(others)})" if (others := names[1:]) else column
                          for column, names in COLUMNS.items())


class RosterProblem(ValueError):
    """A roster carebot cannot read at all (its header): nothing in it is imported."""


def _plain(header: str) -> str:
    """'Teléfono ' is 'telefono': what a header is matched by."""
    return "".join(c for c in unicodedata.normalize("NFKD", header.strip().lower()) if not unicodedata.combining(c))


def _separator(header: str) -> str:
    """A comma, unless the header is split by semicolons (a spreadsheet set to Spanish) or tabs instead."""
    return next((mark for mark in (",", ";", "\t") if mark in header), ",")


def _columns(fieldnames: Sequence[str] | None) -> dict[str, str]:
    """Each column carebot reads, mapped to the header's own spelling of it; a header without a phone is refused."""
    if not fieldnames:
        raise RosterProblem("the file is empty: its first line is the header, e.g. phone,name")
    found = {column: field for field in fieldnames for column, names in COLUMNS.items() if _plain(field) in names}
    if "phone" not in found:
        if any(normalize_phone(field.strip()) for field in fieldnames):
            raise RosterProblem(f"the first line is a row, not a header: add phone,name as the first line "
                                f"(carebot reads {KNOWN_COLUMNS})")
        raise RosterProblem(f"the header (first line) has no phone column: it has {', '.join(fieldnames)}; "
                            f"carebot reads {KNOWN_COLUMNS}")
    return found


@dataclass
class ImportReport:
    """What an import did: how many were invited, and each bad row with its reason."""

    invited: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)


def import_roster(session: Session, group: Group, text: str, now: datetime) -> ImportReport:
    """Invite everyone on a CSV roster (columns: phone, name, and optionally role).

    Each good row gets one invitation; nothing else reaches them unless they reply YES.
    Bad rows are reported with their line number and reason, and skipped; a header without a
    phone column is a RosterProblem, before anyone is invited.
    """
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text), delimiter=_separator(text.partition("\n")[0]))
    fields = _columns(reader.fieldnames)
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        phone = (row.get(fields.get("phone", ""), "") or "").strip()
        name = (row.get(fields.get("name", ""), "") or "").strip()[:20] or None
        role = (row.get(fields.get("role", ""), "") or "member").strip().lower() or "member"
        role = SPANISH_ROLES.get(_plain(role), role)
        if not phone:
            report.bad.append((line, REASONS["no_number"]))
            continue
        if role not in tuple(Role):
            report.bad.append((line, REASONS["role"]))
            continue
        key = normalize_phone(phone) or phone  # "(515) 555-0101" is "+15155550101"
        if key in seen:
            report.bad.append((line, REASONS["duplicate"]))
            continue
        seen.add(key)
        if group.id in removals.groups_of_number(session, key):
            report.bad.append((line, REASONS["removed"]))
            continue
        result = invite(session, group, phone, name, None, now, role=role)
        if result == "invited":
            report.invited += 1
        else:
            report.bad.append((line, REASONS[result]))
    return report

