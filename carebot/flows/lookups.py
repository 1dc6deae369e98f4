"""What a flow may look up while it decides, beyond the context's snapshot: read-only, no I/O here.

A few answers are only worth fetching when a text asks for them (a name after NOT or
PAIR, MYDATA's consent history), so the host hands in an object that fetches them on
demand: the database in ``carebot.store.lookups``, a few plain lists in the tests.
Flows only see this interface and the plain results of ``carebot.flows.base``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from anyascii import anyascii

if TYPE_CHECKING:
    from carebot.flows.base import AnswerInfo, CareMapInfo, PairingInfo, PersonInfo, StoppedRequest


class Lookups(Protocol):
    """Read-only questions a flow may ask about the member's world."""

    def people_named(self, name: str) -> tuple[PersonInfo, ...]:
        """People in the member's active groups called ``name`` (see :func:`named`), never the
        member themselves; one entry per group a person shares with them; and those of sister
        groups the member was paired with across a network."""
        ...

    def people_in_group(self, group_id: int, token: str) -> tuple[PersonInfo, ...]:
        """Active members of one group, the member included: by phone number when ``token``
        has digits (a nameless one is then named by that number), else by name."""
        ...

    def partners_in(self, group_id: int, name: str) -> tuple[PersonInfo, ...]:
        """People of other groups, by name or number, in an open pairing across a network with one of
        ``group_id``'s members (so its coordinators can UNPAIR it)."""
        ...

    def consent_times(self) -> tuple[datetime, ...]:
        """When the member's consent events happened, oldest first."""
        ...

    def care_map(self) -> CareMapInfo | None:
        """The member's own finished care map (MAP), their words for them alone; None without one."""
        ...

    def requests_ended_by_stop(self) -> tuple[StoppedRequest, ...]:
        """The member's requests for care that a STOP of theirs ended and carebot still holds, oldest first."""
        ...

    def lapsed_answers(self, group_id: int) -> tuple[AnswerInfo, ...]:
        """The member's last answer in the group (each option, with ``since``), when it ended by lapsing
        (its time ran out) and nothing ended after it; else nothing (a 0, a STOP, an answer replaced)."""
        ...


class NoLookups:
    """Lookups that find nothing: for a context that stands for no one in particular."""

    def people_named(self, name: str) -> tuple[PersonInfo, ...]:
        return ()

    def people_in_group(self, group_id: int, token: str) -> tuple[PersonInfo, ...]:
        return ()

    def partners_in(self, group_id: int, name: str) -> tuple[PersonInfo, ...]:
        return ()

    def consent_times(self) -> tuple[datetime, ...]:
        return ()

    def care_map(self) -> CareMapInfo | None:
        return None

    def requests_ended_by_stop(self) -> tuple[StoppedRequest, ...]:
        return ()

    def lapsed_answers(self, group_id: int) -> tuple[AnswerInfo, ...]:
        return ()


def folded(name: str) -> str:
    """A name as it is compared: any case, accents folded ("Zoë", "zoe" and "ZOE" are one)."""
    return anyascii(name).casefold()


def named(people: Iterable[PersonInfo], name: str) -> tuple[PersonInfo, ...]:
    """The people whose name is ``name``, or else those whose name starts with it: case and accents
    aside, since phones type "jose" for José (README). Every one who matches is returned, so two
    people who fold to one name ("Jose" and "José") are asked about, never guessed between; a name
    typed with its accents ("José") picks the one written so."""
    typed = name.strip().casefold()
    wanted = folded(typed)
    if not wanted:
        return ()  # nothing that reads as a name ("\u200b"): it names nobody, never everybody
    with_names = [(p, folded(p.name)) for p in people if p.name]
    for matches in (str.__eq__, str.startswith):
        found = [p for p, name in with_names if matches(name, wanted)]
        as_typed = [p for p in found if matches(p.name.casefold(), typed)]
        if found:
            return tuple(as_typed if typed != wanted and as_typed else found)
    return ()


def pairings_named(pairings: Iterable[PairingInfo], name: str) -> list[PairingInfo]:
    """The member's open pairings whose other member's name starts with ``name``, accents and case aside
    ("@jose" and "done zoe" find José and Zoë, as README says)."""
    wanted = folded(name.strip(".,:;!?"))
    return [p for p in pairings if p.status == "active" and folded(p.other_name).startswith(wanted)] if wanted else []
