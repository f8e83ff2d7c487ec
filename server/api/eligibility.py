"""POST /api/eligibility: the eligibility engine (bot/eligibility/rules.py) for the advisor
console and tests. Bad input gets a 400 with a Chinese message, never a 500."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, jsonify

from server.api import error, json_body

from bot.eligibility import rules as eligibility
from bot.clock import today

bp = Blueprint("eligibility_api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)

MAX_FACTS = 20


@bp.post("/eligibility")
def check_eligibility():
    data = json_body()
    if data is None:
        return error('请求格式不对，请发送JSON对象，例如 {"facts": {"age": 85}}。', "invalid_json")
    facts = data.get("facts")
    if not isinstance(facts, dict):
        return error("缺少老人的情况（facts），它必须是一个对象。", "invalid_facts")
    if len(facts) > MAX_FACTS:
        return error("facts 的项目太多了。", "invalid_facts")
    on = today()
    if data.get("date") is not None:
        try:
            on = dt.date.fromisoformat(str(data["date"]))
        except ValueError:
            return error("日期格式不对，请用 YYYY-MM-DD，例如 2026-01-31。", "invalid_date")
    try:
        results = eligibility.evaluate(facts, on=on)
        missing = eligibility.relevant_missing_facts(facts, on=on)
    except eligibility.FactError as exc:
        log.info("eligibility request rejected: %s", exc)
        return error(exc.message_zh, "invalid_fact")
    return jsonify(
        date=on.isoformat(), results=[r.to_dict() for r in results], relevant_missing_facts=missing
    )
