"""Promises kept: every template that states a time or a date names where carebot keeps it.

A new template that states a time fails here until someone shows (in a transcript or a
test) that carebot then acts on exactly what it said.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from carebot.domain.i18n import catalog
from carebot.services.checkins import tomorrow_by_day
from tests.helpers import TRANSCRIPTS

STATES_A_TIME = re.compile(
    r"\{cadence\}|\{when\}|\{freq\}|\{date\}|\{time\}|tomorrow|tonight|today|morning|\bdays?\b|\bweeks?\b"
    r"|\bhours?\b|\bminutes?\b|\bmonth\b|\bsoon\b|again", re.I)

# template -> the transcript that shows the stated time kept.
KEPT_IN = {
    "channel.voice": "voice_channel.txt",  # calls by day
    "join.welcome.voice": "voice_join_stop.txt",
    "care.accepted.supporter": "promises_kept.txt",
    "care.accepted.supporter.private": "relay.txt",
    "care.followup.yes": "promises_kept.txt",
    "care.followup.later": "promises_kept.txt",
    "care.cadence.set": "pairing.txt",
    "gather.reminder": "promises_kept.txt",
    "join.ask": "joining.txt",
    "join.welcome": "joining.txt",
    "care.waiting.1": "pairing_decline.txt",
    "care.waiting.4": "pairing_waiting.txt",
    "relay.later": "relay.txt",
    "relay.coordinators.later": "coordreach_two_groups.txt",
    "relay.coordinators.later.several": "coordreach_all_es.txt",
    "crisis.call.later": "crisis.txt",
    "coord.add.recent": "coord_add.txt",
    "budget.coordinators": "budget.txt",
    "caremap.later": "caremap_offer_during_map.txt",
    "network.yes": "network_overflow.txt",
    "network.no": "network_overflow_no.txt",
    "network.gone": "network_question_unanswered.txt",
    "round.morning": "round_at_night.txt",
    "round.partly": "round_at_night.txt",
    "join.lapsed.any": "join_lapses_after_a_week.txt",
    "coord.second.lapsed.remove": "outside9_coord_approval_lapses.txt",
    "coord.second.lapsed.coord": "outside9_coord_approval_lapses.txt",
    "coord.second.lapsed.uncoord": "outside9_coord_approval_lapses.txt",
    "round.recent": "outside9_coord_round_announce_twice.txt",
    "round.recent.some": "outside9_coord_round_announce_twice.txt",
    "announce.recent": "outside9_coord_round_announce_twice.txt",
}
# Templates whose time words are no promise of carebot's (a date shown, a pattern, a word like "again").
NOT_A_PROMISE = {
    # A call's menus and confirmations: the keys a caller may press, "again" and "anytime" as plain words.
    "call.how_long", "call.stop.sure", "call.stopped", "call.answer", "join.ask.voice", "stop.done.voice",
    "start.fresh.voice", "start.kept.voice",
    "duration.until", "freq.weekly", "freq.daily", "freq.monthly", "start.fresh", "start.kept", "start.no_groups",
    "care.followup", "care.followup.no", "care.days", "hours.bad", "coord.confirm.gather",
    "gather.invite", "gather.rsvp.yes", "gather.rsvp.no", "gather.count", "gather.next", "mydata.consent",
    "crisis.call.sent", "crisis.call.oncall", "join.removed", "care.ended.open", "coord.unpaired.open",
    "care.offer.withdrawn", "status.removed", "care.offer.again.1",
    "care.offer.again.4", "coord.pair.asked.again", "start.again", "mydata.request.stopped",
    "coord.pair.replaced", "goaround.ended.request",  # the date the offer was made; "to ask again"
} | {key for key in catalog("en") if key.startswith("log.")}


def test_every_template_that_states_a_time_says_where_it_is_kept() -> None:
    unaccounted = [key for key, text in catalog("en").items()
                   if STATES_A_TIME.search(text) and key not in KEPT_IN and key not in NOT_A_PROMISE]
    assert not unaccounted, f"templates state a time with no transcript keeping it: {unaccounted}"


def test_each_promise_is_kept_in_an_existing_transcript_that_shows_it() -> None:
    for key, name in KEPT_IN.items():
        assert key in catalog("en"), key
        assert (TRANSCRIPTS / name).exists(), name


def test_tomorrow_stays_tomorrow_late_in_the_evening() -> None:
    tz = ZoneInfo("America/Chicago")
    asked_at = datetime(2026, 3, 21, 19, 50, tzinfo=tz)
    again = tomorrow_by_day(asked_at, tz, 9, 20)
    assert again.date() == datetime(2026, 3, 22).date() and 9 <= again.hour < 20
    early = tomorrow_by_day(datetime(2026, 3, 21, 7, 0, tzinfo=tz), tz, 9, 20)
    assert early.date() == datetime(2026, 3, 22).date() and early.hour == 9
