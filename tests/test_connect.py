"""``carebot twilio connect`` (issue 20): Twilio pointed at carebot through the real twilio client.

Twilio is the fake of tests/fakes/twilio_api.py, whose update endpoints take only the contract's
parameters; ``carebot check`` reads the result back the way it reads a real account.
"""

from __future__ import annotations

import urllib.request
from urllib.error import HTTPError

import pytest
from click.testing import CliRunner

from carebot.cli import main
from carebot.domain.i18n import render
from carebot.flows.frequency import describe
from tests.helpers import FROM, PUBLIC, SERVICE, check

SMS, STATUS = f"{PUBLIC}/twilio/sms", f"{PUBLIC}/twilio/status"


def connect(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["twilio", "connect", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_a_number_pointing_elsewhere_is_connected_then_checked(deployment, twilio) -> None:  # noqa: F811
    twilio.add_number(FROM, sms_url="https://old-bot.example.net/sms", sms_method="GET",
                      status_callback="https://old-bot.example.net/status")
    code, lines = check()
    assert code == 1 and lines["Twilio webhooks"].startswith("✗"), lines
    code, out = connect()
    assert code == 0, out
    assert f"✓ the number TWILIO_FROM now points at {PUBLIC}:" in out
    assert f"SmsUrl: https://old-bot.example.net/sms → {SMS}" in out
    assert "SmsMethod: GET → POST" in out
    assert f"StatusCallback: https://old-bot.example.net/status → {STATUS}" in out
    record = twilio.numbers[FROM]
    assert (record["sms_url"], record["sms_method"], record["status_callback"]) == (SMS, "POST", STATUS)
    assert f"VoiceUrl: (none) → {PUBLIC}/twilio/voice" in out  # calls too (issue 23)
    assert (record["voice_url"], record["voice_method"]) == (f"{PUBLIC}/twilio/voice", "POST")
    assert twilio.numbers["+15155550111"]["sms_url"] == "https://other.example.org/sms"  # the other number untouched
    code, lines = check()
    assert code == 0 and lines["Twilio webhooks"] == f"✓ the number's point at {PUBLIC}", lines
    code, out = connect()
    assert code == 0 and "already points at" in out and "→" not in out.split("10DLC")[0]


def test_a_messaging_service_is_connected_instead(deployment, twilio, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", SERVICE)
    twilio.add_service(SERVICE, inbound_request_url="https://old-bot.example.net/sms")
    twilio.services[SERVICE]["use_inbound_webhook_on_number"] = True
    number_before = dict(twilio.numbers[FROM])
    code, out = connect()
    assert code == 0, out
    assert f"InboundRequestUrl: https://old-bot.example.net/sms → {SMS}" in out
    assert f"StatusCallback: (none) → {STATUS}" in out and "UseInboundWebhookOnNumber: True → False" in out
    service = twilio.services[SERVICE]
    assert (service["inbound_request_url"], service["status_callback"]) == (SMS, STATUS)
    assert service["use_inbound_webhook_on_number"] is False
    assert twilio.numbers[FROM] == number_before  # the service answers for its numbers: they are left alone
    code, lines = check()
    assert code == 0 and lines["Twilio webhooks"] == f"✓ the Messaging Service's point at {PUBLIC}", lines


@pytest.mark.parametrize("change, says", [
    ({"TWILIO_AUTH_TOKEN": "e" * 32}, "✗ Twilio refused the credentials"),
    ({"TWILIO_FROM": "+15155550122"}, "✗ TWILIO_FROM is not a number of this account"),
    ({"TWILIO_MESSAGING_SERVICE_SID": SERVICE}, "✗ Twilio has no such resource on this account"),
])
def test_what_cannot_be_connected_is_one_line_and_nothing_changes(deployment, twilio, monkeypatch, change,  # noqa: F811
                                                                   says) -> None:
    for name, value in change.items():
        monkeypatch.setenv(name, value)
    before = {phone: dict(record) for phone, record in twilio.numbers.items()}
    code, out = connect()
    assert code == 1 and out.strip() == out.strip().splitlines()[0] and out.startswith(says), out
    assert twilio.numbers == before


def test_a_twiml_app_is_left_for_the_operator(deployment, twilio) -> None:  # noqa: F811
    twilio.add_number(FROM, sms_url=SMS, sms_application_sid="AP" + "1" * 32)
    code, out = connect()
    assert code == 1 and "TwiML App" in out and twilio.numbers[FROM]["sms_application_sid"] == "AP" + "1" * 32


def test_the_registration_text_is_the_catalog_as_members_get_it(deployment, twilio) -> None:  # noqa: F811
    assert CliRunner().invoke(main, ["group", "add", "vecinos", "--name", "Vecinos Unidos", "--lang", "es",
                                     "--schedule", "0 18 * * thu"]).exit_code == 0
    code, out = connect()
    assert code == 0, out
    text = out.split("paste:", 1)[1]
    freq = describe("0 18 * * thu", "es")
    for sample in [render("invite.ask.group", "es", group="Vecinos Unidos"),
                   render("join.ask", "es", group="Vecinos Unidos", freq=freq),
                   render("goaround.prompt", "es", keyword="VECINOS"),
                   render("stop.done", "es"), render("join.welcome", "es", group="Vecinos Unidos", freq=freq)]:
        assert sample in text
    assert "Reply YES" not in text  # the group's own language throughout
    keywords = text.split("Opt-out keywords: ", 1)[1].splitlines()[0].split(", ")
    assert {"STOP", "UNSUBSCRIBE", "CANCEL", "QUIT", "PARAR"} <= set(keywords)
    assert "HELP" in text.split("Help keywords: ", 1)[1].splitlines()[0]
    assert "911" not in text and "police" not in text.lower()


def test_the_fake_refuses_what_twilio_refuses(twilio) -> None:  # noqa: F811
    """Its update endpoints follow the contract: an unknown parameter or a bad method is a 400, as at Twilio."""
    import base64

    sid = twilio.numbers[FROM]["sid"]
    auth = "Basic " + base64.b64encode(f"{twilio.account_sid}:{twilio.auth_token}".encode()).decode()
    for form in (b"SmsUrl=https://a.example/sms&Colour=red", b"SmsMethod=PUT"):
        request = urllib.request.Request(
            f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/IncomingPhoneNumbers/{sid}.json",
            data=form, headers={"Authorization": auth}, method="POST")
        with pytest.raises(HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 400
    assert twilio.numbers[FROM]["sms_url"] == SMS


def test_connect_names_itself_when_a_setting_is_missing(deployment, monkeypatch) -> None:
    # Outside report, finding 22: the refusal named `carebot serve`, a command the volunteer did not run.
    monkeypatch.delenv("CAREBOT_PUBLIC_URL")
    result = CliRunner().invoke(main, ["twilio", "connect"])
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("carebot twilio connect: CAREBOT_PUBLIC_URL: missing"), line
    assert "serve" not in line


def test_a_group_that_is_not_there_is_one_line_naming_the_groups_and_nothing_changes(deployment,  # noqa: F811
                                                                                     twilio) -> None:
    # Left from the last session: `--group NOPE` printed the registration text of an example group.
    for keyword in ("vecinos", "circle"):
        assert CliRunner().invoke(main, ["group", "add", keyword, "--name", keyword.title()]).exit_code == 0
    twilio.add_number(FROM, sms_url="https://old-bot.example.net/sms")
    before = {phone: dict(record) for phone, record in twilio.numbers.items()}
    code, out = connect("--group", "nope")
    assert code != 0, out
    [line] = out.strip().splitlines()
    assert "NOPE" in line and "CIRCLE, VECINOS" in line and "10DLC" not in out, line
    assert twilio.numbers == before  # refused before Twilio was touched


def test_a_group_named_where_there_is_no_group_yet_is_one_line(deployment, twilio) -> None:  # noqa: F811
    code, out = connect("--group", "circle")
    assert code != 0, out
    [line] = out.strip().splitlines()
    assert "CIRCLE" in line and "carebot group add" in line, line
