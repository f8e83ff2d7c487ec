"""How an SMS leaves: one interface, `SmsSender.send(to_number, body, template)`, and one
implementation per kind of provider. bot/contact/sms.py decides whether a message may be sent at
all (number on file, mobile, 退订) and keeps the outbox row; a sender only delivers it and
says what the provider answered. A sender never raises for a provider's refusal, an
outage or a timeout: it returns a failed `SendResult`.

- `TwilioSender`: Twilio's REST API with the full text. Twilio's China SMS is one-way and
  template-only (the text must match a template registered with Twilio), so it suits
  numbers abroad and development more than the mainland.
- `TemplateSender`: mainland providers (Aliyun, Tencent), who send only approved templates:
  a template code plus parameters (bot/sms_templates.yml). It POSTs the SendSms shape
  {"PhoneNumbers", "SignName", "TemplateCode", "TemplateParam": "<JSON>", "OutId"} as JSON
  to SMS_TEMPLATE_API_URL with "Authorization: Bearer SMS_TEMPLATE_API_KEY" and reads an
  answer {"Code": "OK", "BizId": ...}. Aliyun's and Tencent's own endpoints sign each
  request (HMAC of the access key secret) instead of taking a bearer key, so in production
  this address is the operator's SMS gateway that holds those keys and signs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import requests

from bot.contact import sms_templates
from bot.text.masking import mask_phone

log = logging.getLogger(__name__)

# (kind, parameters): a kind of bot/sms_templates.yml and its parameters by name
Template = tuple[str, Mapping[str, object]]
ERROR_CHARS = 200  # sms_outbox.error


@dataclass(frozen=True)
class SendResult:
    status: str  # sent|failed
    provider_id: str | None = None  # Twilio's message SID, the provider's BizId
    error: str | None = None  # short and free of personal data: it is stored on the row

    @classmethod
    def sent(cls, provider_id: str | None) -> SendResult:
        return cls("sent", provider_id, None)

    @classmethod
    def failed(cls, error: str) -> SendResult:
        return cls("failed", None, error[:ERROR_CHARS])


class SmsSender(Protocol):
    name: str

    def send(
        self, to_number: str, body: str, template: Template | None = None, *, message_id: int | None = None
    ) -> SendResult:
        """Delivers one message to a number bot/contact/sms.py has already allowed. `body` is the
        full text; `template` (kind, params) is what template-only providers send instead;
        `message_id` (the outbox row) is passed on where the provider keeps a reference."""
        ...


class TwilioSender:
    """Today's Twilio REST sending (TWILIO_API_URL points it at a local fake in tests)."""

    name = "twilio"

    def __init__(
        self, account_sid: str, auth_token: str, from_number: str, *, api_url: str = "", timeout: float = 10.0
    ):
        self.account_sid, self.auth_token, self.from_number = account_sid, auth_token, from_number
        self.api_url, self.timeout = api_url, timeout

    def send(
        self, to_number: str, body: str, template: Template | None = None, *, message_id: int | None = None
    ) -> SendResult:
        from twilio.base.exceptions import TwilioException
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        try:
            client = Client(
                self.account_sid, self.auth_token, http_client=TwilioHttpClient(timeout=self.timeout)
            )
            if self.api_url:
                client.api.base_url = self.api_url.rstrip("/")
            message = client.messages.create(to=to_number, from_=self.from_number, body=body)
        except (TwilioException, OSError) as exc:  # requests' errors are OSErrors
            return SendResult.failed(type(exc).__name__)
        return SendResult.sent(message.sid)


class TemplateSender:
    """A mainland provider's SendSms: template code + parameters, never free text."""

    name = "template"

    def __init__(
        self,
        api_url: str,
        api_key: str,
        sign_name: str,
        *,
        timeout: float = 10.0,
        codes: Mapping[str, str] | None = None,
    ):
        self.api_url, self.api_key, self.sign_name = api_url, api_key, sign_name
        self.timeout = timeout
        self.codes = dict(codes or {})  # kind -> the provider's template code

    def template_code(self, kind: str) -> str:
        code = self.codes.get(kind) or sms_templates.template_for(kind).code
        if code.startswith(sms_templates.PLACEHOLDER_CODE_PREFIX):
            log.warning(
                "sms kind %s uses the placeholder template code %s: set "
                "SMS_TEMPLATE_CODE_%s to the code the provider approved",
                kind,
                code,
                kind.upper(),
            )
        return code

    def request_body(
        self, to_number: str, body: str, template: Template | None, message_id: int | None = None
    ) -> dict[str, str]:
        """The JSON the provider gets. A message without a template goes as the generic
        template with the whole text as its parameter."""
        if template is None:
            kind, params = sms_templates.GENERIC, sms_templates.generic_params(body)
        else:
            kind, params = template[0], sms_templates.checked(*template)
        request = {
            "PhoneNumbers": provider_number(to_number),
            "SignName": self.sign_name,
            "TemplateCode": self.template_code(kind),
            # a JSON string of string values (Aliyun refuses numbers: isv.INVALID_JSON_PARAM)
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
        }
        if message_id is not None:
            request["OutId"] = str(message_id)  # comes back on the delivery receipt
        return request

    def send(
        self, to_number: str, body: str, template: Template | None = None, *, message_id: int | None = None
    ) -> SendResult:
        if template is None:
            log.info(
                "sms id=%s to %s has no template: sent as kind %s with the whole text as its parameter",
                message_id,
                mask_phone(to_number),
                sms_templates.GENERIC,
            )
        try:
            request = self.request_body(to_number, body, template, message_id)
        except sms_templates.TemplateError as exc:
            log.error("sms id=%s: %s", message_id, exc)
            return SendResult.failed("template: " + str(exc))
        try:
            response = requests.post(
                self.api_url,
                json=request,
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {self.api_key}"},
            )
        except requests.Timeout as exc:
            # Providers are not idempotent: it may have gone out; check the provider's
            # delivery receipt (OutId = the outbox id) before sending it again.
            log.warning(
                "sms id=%s to %s: provider timed out after %.1fs (may still be delivered)",
                message_id,
                mask_phone(to_number),
                self.timeout,
            )
            return SendResult.failed(type(exc).__name__)
        except requests.RequestException as exc:
            return SendResult.failed(type(exc).__name__)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        answer = answer if isinstance(answer, dict) else {}
        code = str(answer.get("Code") or "")
        if response.status_code >= 400 or code.upper() != "OK":
            error = " ".join(part for part in (f"HTTP {response.status_code}", code) if part)
            log.error(
                "sms id=%s to %s refused by the provider: %s %s",
                message_id,
                mask_phone(to_number),
                error,
                str(answer.get("Message") or "")[:100],
            )
            return SendResult.failed(error)
        return SendResult.sent(str(answer.get("BizId") or answer.get("RequestId") or "") or None)


def provider_number(number: str) -> str:
    """The number as the providers take it: a mainland mobile as its 11 digits, any other
    with its country code (bot/contact/sms.py normalises to +86… before a sender sees it)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits[2:] if number.startswith("+86") else digits
