"""Read-only JSON endpoints of the booking area for the console and the widget: the service
catalogue, free windows near a time, and what a Chinese time expression means.

Writes (book, cancel, reschedule) go through bot.booking.ledger directly from the advisor console,
behind its login; nothing here touches personal data.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, jsonify, request

from server.api import error

from bot.booking import ledger as booking
from bot.db import session_scope
from bot.text.timeparse import TimeParseError, parse_time, say_window

bp = Blueprint("booking_api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)


@bp.get("/booking/services")
def services():
    from sqlalchemy import select

    from bot.models.booking import ServiceType

    with session_scope() as s:
        rows = s.execute(select(ServiceType).order_by(ServiceType.id)).scalars().all()
        return jsonify(
            services=[
                {
                    "code": r.code,
                    "name": r.name,
                    "duration_minutes": r.duration_minutes,
                    "price_yuan": r.price_fen / 100,
                    "uses_free_hours": r.uses_free_hours,
                    "description": r.description,
                }
                for r in rows
            ]
        )


@bp.get("/booking/windows")
def windows():
    service = (request.args.get("service") or "").strip()
    street = (request.args.get("street") or "").strip()
    around_text = (request.args.get("around") or "").strip()
    try:
        limit = max(1, min(int(request.args.get("limit", 3)), 20))
    except ValueError:
        return error("limit 必须是数字。", "invalid_limit")
    if not service or not street:
        return error("请提供服务（service）和街道（street）。", "missing_parameters")
    if around_text:
        try:
            around = dt.datetime.fromisoformat(around_text)
        except ValueError:
            try:
                around = parse_time(around_text).window_start()
            except TimeParseError as exc:
                return error(exc.message, exc.code)
    else:
        around = booking.now_local()
    with session_scope() as s:
        if booking.service_by_code_or_name(s, service) is None:
            return error(f"没有这项服务：{service[:20]}。", "unknown_service", 404)
        options = booking.available_windows(s, service, street, around, limit=limit)
    return jsonify(
        around=around.isoformat(),
        windows=[
            {
                "start": o.start.isoformat(),
                "end": o.end.isoformat(),
                "part": o.part,
                "free_places": o.free_places,
                "spoken": o.spoken,
            }
            for o in options
        ],
    )


@bp.get("/booking/parse_time")
def parse_time_endpoint():
    q = (request.args.get("q") or "")[:60]
    try:
        got = parse_time(q)
    except TimeParseError as exc:
        return jsonify(ok=False, code=exc.code, message=exc.message)
    start = got.window_start()
    return jsonify(
        ok=True,
        day=got.day.isoformat(),
        part=got.part,
        hour=got.hour,
        minute=got.minute,
        window_start=start.isoformat(),
        spoken=got.spoken() if got.part else say_window(start),
    )
