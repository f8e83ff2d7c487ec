"""Reaching people: the advisor handoff queue (`handoff`), live chat (`live_chat`), advisor
hours (`advisor_calendar`), and SMS: the outbox (`sms`), senders (`sms_senders`) and
templates (`sms_templates`, wording in sms_templates.yml)."""
