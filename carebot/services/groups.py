"""Setting groups up: the one place groups and already-consented members are created."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.i18n import LANGUAGES
from carebot.domain.nopolice import refusal
from carebot.domain.phone import normalize_phone
from carebot.domain.vocabulary import MembershipStatus, Role
from carebot.flows import words
from carebot.store.models import ConsentEvent, Group, Member, Membership, Network

MAX_GROUP_NAME = 40
MAX_MEMBER_NAME = 20
_KEYWORD = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
RESERVED = {
    w.upper()
    for vocabulary in (words.STOP_STRONG, words.STOP_ALONE, words.START, words.HELP, words.YES,
                       words.NO, words.STATUS, words.FORGET, words.LANG, words.JOIN, words.HOW,
                       words.NAME, words.NONE, words.LATER, words.DONE, words.NOT_WITH,
                       words.EVERY, words.HOURS, words.ROUND, words.MORE, words.PULSE, words.LOG,
                       words.GATHER, frozenset(words.COORD_WORDS), words.PRIVATE, words.SHARE, words.CALL)
    for w in vocabulary
}
DEFAULT_SCHEDULE = "0 10 * * mon"


class GroupError(ValueError):
    """A group or member setting that cannot be used, with the reason in plain words."""


def check_schedule(schedule: str, timezone: str) -> None:
    """Raise GroupError unless ``schedule`` is a five-field crontab."""
    try:
        CronTrigger.from_crontab(schedule, timezone=timezone)
    except ValueError as error:
        raise GroupError(f"the round schedule {schedule!r} is not a crontab ({error})") from None


def check_budget(budget: int | None) -> None:
    """Raise GroupError unless ``budget`` is a number of texts a day (None: the default)."""
    if budget is not None and budget < 1:
        raise GroupError("a daily budget is a number of texts, at least 1")


MAX_PAIR_AGAIN_DAYS = 365
_DAYS = re.compile(r"^(\d+)\s*(d|w)?$")


def pair_again_days(text: str) -> int:
    """``28``, ``10d``, ``4w`` as days: how long two whose pairing ended are not offered to each other again."""
    match = _DAYS.match(text.strip().lower())
    days = int(match[1]) * (7 if match[2] == "w" else 1) if match else -1
    if not 0 <= days <= MAX_PAIR_AGAIN_DAYS:
        raise GroupError(f"--pair-again-after: write the days before the same two may be paired again, "
                         f"e.g. 28 or 4w (0 to {MAX_PAIR_AGAIN_DAYS} days), not {text.strip()!r}")
    return days


def check_crisis(resources: str) -> None:
    """Raise GroupError when a group's crisis resources send anyone where carebot never does (domain.nopolice)."""
    refused = refusal(resources)
    if refused is not None:
        raise GroupError(refused)


def _check(name: str, timezone: str, language: str, schedule: str, daytime: tuple[int, int]) -> None:
    if not name or len(name) > MAX_GROUP_NAME:
        raise GroupError(f"a group name is 1-{MAX_GROUP_NAME} characters")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise GroupError(f"unknown timezone {timezone!r} (use e.g. America/Chicago)") from None
    if language not in LANGUAGES:
        raise GroupError(f"language must be one of {', '.join(LANGUAGES)}")
    check_schedule(schedule, timezone)
    starts, ends = daytime
    if not 0 <= starts < ends <= 24:
        raise GroupError("daytime is two hours, the first before the second, e.g. 9-20")


def add_group(
    session: Session,
    *,
    keyword: str,
    name: str,
    timezone: str = "UTC",
    language: str = "en",
    round_schedule: str | None = None,
    crisis_resources: str = "",
    two_coordinators: bool = False,
    private_default: bool = False,
    daytime: tuple[int, int] = (9, 20),
    daily_budget: int | None = None,
    now: datetime,
) -> Group:
    """Create a group after checking every setting."""
    keyword = keyword.strip().upper()
    if not _KEYWORD.match(keyword):
        raise GroupError("a keyword is 2-16 letters or digits, starting with a letter")
    if keyword in RESERVED:
        raise GroupError(f"{keyword} is a word carebot already understands; pick another keyword")
    if session.scalar(select(Group.id).where(Group.keyword == keyword)):
        raise GroupError(f"there is already a group with the keyword {keyword}")
    name = name.strip()
    schedule = round_schedule or DEFAULT_SCHEDULE
    _check(name, timezone, language, schedule, daytime)
    check_budget(daily_budget)
    check_crisis(crisis_resources)
    group = Group(
        keyword=keyword, name=name, timezone=timezone, language=language,
        round_schedule=schedule, crisis_resources=crisis_resources, created_at=now,
        day_starts=daytime[0], day_ends=daytime[1], two_coordinators=two_coordinators,
        private_default=private_default, daily_budget=daily_budget,
    )
    session.add(group)
    session.flush()
    return group


def edit_group(session: Session, keyword: str, **changes) -> Group:
    """Change a group's settings (name, timezone, language, round_schedule, daytime,
    crisis_resources, two_coordinators, private_default, sms_fold, daily_budget: None for the default,
    network, overflow_after_hours, pair_again_after_days),
    checking them as ``add_group`` does."""
    group = session.scalars(select(Group).where(Group.keyword == keyword.strip().upper())).first()
    if group is None:
        raise GroupError(f"no group with the keyword {keyword.upper()}")
    name = changes.get("name", group.name).strip()
    timezone = changes.get("timezone", group.timezone)
    language = changes.get("language", group.language)
    schedule = changes.get("round_schedule", group.round_schedule)
    daytime = changes.get("daytime", (group.day_starts, group.day_ends))
    _check(name, timezone, language, schedule, daytime)
    check_budget(changes.get("daily_budget"))
    check_crisis(changes.get("crisis_resources", ""))
    if (schedule, timezone) != (group.round_schedule, group.timezone):
        group.next_round_at = None  # the ticker works out the next round on the new schedule
    group.name, group.timezone, group.language, group.round_schedule = name, timezone, language, schedule
    group.day_starts, group.day_ends = daytime
    if "crisis_resources" in changes:
        group.crisis_resources = changes["crisis_resources"]
    if "two_coordinators" in changes:
        group.two_coordinators = bool(changes["two_coordinators"])
    if "private_default" in changes:
        group.private_default = bool(changes["private_default"])
    if "sms_fold" in changes:
        group.sms_fold = bool(changes["sms_fold"])
    if "daily_budget" in changes:
        group.daily_budget = changes["daily_budget"]
    if "network" in changes:
        # Leaving (or changing) a network ends nothing: pairings made across it go on until DONE.
        group.network_id = find_network(session, changes["network"]).id if changes["network"] else None
    if "overflow_after_hours" in changes:
        group.overflow_after_hours = changes["overflow_after_hours"]
    if "pair_again_after_days" in changes:
        group.pair_again_after_days = changes["pair_again_after_days"]
    return group


# --- networks of groups (carebot.services.network) ---------------------------------------

MAX_NETWORK_NAME = 60
MAX_OVERFLOW_HOURS = 24 * 30
_SPAN = re.compile(r"^(\d+)\s*([hd])$")


def overflow_hours(text: str) -> int | None:
    """``24h``, ``2d`` as hours; ``off`` (or ``none``) as None: a request never goes beyond the group."""
    value = text.strip().lower()
    if value in ("off", "none", "no"):
        return None
    match = _SPAN.match(value)
    hours = int(match[1]) * (24 if match[2] == "d" else 1) if match else 0
    if not 1 <= hours <= MAX_OVERFLOW_HOURS:
        raise GroupError("write the overflow time as hours or days, e.g. 24h or 2d (at most 30d), or off")
    return hours


def find_network(session: Session, code: str) -> Network:
    network = session.scalars(select(Network).where(Network.code == code.strip().upper())).first()
    if network is None:
        raise GroupError(f"no network with the code {code.strip().upper()} (`carebot network add` makes one)")
    return network


def add_network(session: Session, *, code: str, name: str, now: datetime) -> Network:
    """Create a network groups can join; its code is written like a group keyword."""
    code, name = code.strip().upper(), name.strip()
    if not _KEYWORD.match(code):
        raise GroupError("a network code is 2-16 letters or digits, starting with a letter")
    if code in ("NONE", "OFF"):
        raise GroupError(f"{code} means no network; pick another code")
    if session.scalar(select(Network.id).where(Network.code == code)):
        raise GroupError(f"there is already a network with the code {code}")
    if not name or len(name) > MAX_NETWORK_NAME:
        raise GroupError(f"a network's name is 1-{MAX_NETWORK_NAME} characters")
    network = Network(code=code, name=name, created_at=now)
    session.add(network)
    session.flush()
    return network


def network_groups(session: Session, network: Network) -> list[str]:
    """The keywords of a network's groups, in order."""
    return list(session.scalars(select(Group.keyword).where(Group.network_id == network.id).order_by(Group.keyword)))


def remove_network(session: Session, code: str) -> list[str]:
    """Remove a network; its groups leave it (their pairings across it go on). Returns their keywords."""
    network = find_network(session, code)
    keywords = network_groups(session, network)
    for group in session.scalars(select(Group).where(Group.network_id == network.id)):
        group.network_id = None
    session.delete(network)
    return keywords


def add_member(
    session: Session,
    *,
    keyword: str,
    phone: str | None,
    signal_uuid: str | None = None,
    channel: str = "sms",
    name: str | None = None,
    language: str | None = None,
    coordinator: bool = False,
    now: datetime,
) -> Member:
    """Add someone who has already joined and consented (set-up and transcripts)."""
    group = session.scalars(select(Group).where(Group.keyword == keyword.upper())).first()
    if group is None:
        raise GroupError(f"no group with the keyword {keyword.upper()}")
    number = normalize_phone(phone) if phone else None
    if phone and number is None:
        raise GroupError(f"{phone} is not a valid phone number")
    if name is not None and not 0 < len(name.strip()) <= MAX_MEMBER_NAME:
        raise GroupError(f"a member name is 1-{MAX_MEMBER_NAME} characters")
    if language is not None and language not in LANGUAGES:
        raise GroupError(f"language must be one of {', '.join(LANGUAGES)}")
    member = None
    if signal_uuid:
        member = Member.by_signal(session, signal_uuid)
    if member is None and number:
        member = Member.by_phone(session, number)
    if member is None:
        member = Member(phone=number, signal_uuid=signal_uuid, channel=channel, created_at=now,
                        language=language or group.language)
        session.add(member)
        session.flush()
    if name:
        member.name = name.strip()
    if language:
        member.language = language
    membership = session.scalars(
        select(Membership).where(Membership.member_id == member.id, Membership.group_id == group.id)
    ).first()
    if membership is None:
        membership = Membership(group_id=group.id, member_id=member.id, created_at=now)
        session.add(membership)
    membership.status = MembershipStatus.ACTIVE
    membership.role = Role.COORDINATOR if coordinator else "member"
    membership.consented_at = now
    session.add(ConsentEvent(member_id=member.id, group_id=group.id, kind="opt_in", channel=channel,
                             wording="added by the group's set-up, having consented in person", at=now))
    session.flush()
    return member
