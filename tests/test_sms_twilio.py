"""Sending SMS with Twilio configured, against a local HTTP server that plays Twilio's REST
API (TWILIO_API_URL). A booking's confirmation is sent only after the booking committed
(the fake checks the booking is visible from another connection when the request arrives),
the outbox row records what Twilio answered, and a rolled-back transaction sends nothing."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from sqlalchemy import create_engine, select, text

from bot.booking import ledger as booking
from bot.db import session_scope
from bot.models import SmsOutbox
from bot.contact.sms import send_sms
from tests.local_http import JsonHandler, LocalServer
from tests.test_booking import ZHANG, key, morning

ACCOUNT = "ACfaketestaccount"


class CommitWatchingFake:
    """A local stand-in for an SMS API that records its requests and can tell how many
    bookings another connection sees when one arrives (a notice leaves only after its
    booking committed)."""

    def __init__(self, db_url: str):
        self.requests: list[dict] = []
        self.engine = create_engine(db_url)

    def bookings_visible(self) -> int:
        with self.engine.connect() as conn:  # what another connection sees right now
            return conn.execute(text("select count(*) from bookings")).scalar()

    def serve(self, handler: type[JsonHandler]) -> None:
        self.local = LocalServer(handler)

    def close(self):
        self.local.close()
        self.engine.dispose()


class FakeTwilio(CommitWatchingFake):
    """Records Messages.json POSTs; answers 201 (or `status`) like Twilio's API does."""

    def __init__(self, db_url: str):
        super().__init__(db_url)
        self.status = 201
        fake = self

        class Handler(JsonHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                form = dict(urllib.parse.parse_qsl(self.read_body().decode()))
                fake.requests.append(
                    {"path": self.path, "form": form, "bookings_visible": fake.bookings_visible()}
                )
                body = json.dumps(
                    {
                        "sid": f"SM{len(fake.requests):032d}",
                        "status": "queued",
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body"),
                        "account_sid": ACCOUNT,
                    }
                ).encode()
                if fake.status >= 400:
                    body = json.dumps(
                        {"code": 20500, "message": "fake outage", "status": fake.status}
                    ).encode()
                self.send_json(body, fake.status)

        self.serve(Handler)
        self.url = self.local.url


@pytest.fixture
def twilio(db_url, monkeypatch):
    fake = FakeTwilio(db_url)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "fake-token")
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "+15005550006")
    monkeypatch.setenv("TWILIO_API_URL", fake.url)
    yield fake
    fake.close()


def outbox(sms_id: int) -> SmsOutbox:
    with session_scope() as s:
        row = s.get(SmsOutbox, sms_id)
        s.expunge(row)
        return row


def test_booking_sms_is_sent_after_the_booking_committed(twilio):
    result = booking.book(ZHANG, "bath", morning(6), "voice", key())
    assert result.ok and result.sms_outbox_id
    assert len(twilio.requests) == 1
    sent = twilio.requests[0]
    assert sent["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert sent["form"]["To"] == "+8613800000001" and result.reference in sent["form"]["Body"]
    assert sent["bookings_visible"] >= 1, "sent before the booking was committed"
    row = outbox(result.sms_outbox_id)
    assert (row.status, row.provider_sid, row.error) == ("sent", f"SM{1:032d}", None)
    assert row.sent_at is not None


def test_twilio_refusing_leaves_the_booking_and_marks_the_sms_failed(twilio):
    twilio.status = 500
    result = booking.book(ZHANG, "cleaning", morning(6), "voice", key())
    assert result.ok, "a failed SMS must not undo the booking"
    row = outbox(result.sms_outbox_id)
    assert row.status == "failed" and row.error and row.provider_sid is None
    with session_scope() as s:
        assert booking.count_bookings(s, reference=result.reference) == 1


def test_a_rolled_back_transaction_sends_nothing(twilio):
    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned):
        with session_scope() as s:
            send_sms("13800000001", "不该发出的短信", session=s)
            raise Abandoned
    assert twilio.requests == []
    with session_scope() as s:
        assert s.execute(select(SmsOutbox).where(SmsOutbox.body == "不该发出的短信")).first() is None


def test_without_a_session_it_sends_at_once(twilio):
    sms_id = send_sms("13800000005", "您的测算结果：高龄津贴可以申请。")
    assert len(twilio.requests) == 1 and outbox(sms_id).status == "sent"


def test_twilio_sends_the_full_text_of_a_templated_message(twilio, caplog):
    """Twilio takes the text itself: the template only names it (for the log and for the
    mainland providers' sender)."""
    import logging

    body = "【12349养老服务】验证码483920，5分钟内有效，只用于在12349核实身份。"
    with caplog.at_level(logging.INFO, logger="bot.contact.sms"):
        sms_id = send_sms("13800000001", body, requested=True, template=("identity_code", {"code": "483920"}))
    assert [r["form"]["Body"] for r in twilio.requests] == [body]
    assert outbox(sms_id).status == "sent"
    assert f"id={sms_id} kind=identity_code sender=twilio" in caplog.text
