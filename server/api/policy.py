"""Policy search for the advisor console and tests: GET /api/policies/search?q=...

Answers in JSON with Chinese error messages (400 for a missing or too long query, 503 when
the policy packs cannot be loaded); never a 500. The knowledge base is bot.policy.kb.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, jsonify, request

from server.api import error

from bot import clock
from bot.policy import kb as policy_kb
from bot.text.norm import clean

bp = Blueprint("policy_api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 100
MAX_LIMIT = 20


def _day():
    raw = request.args.get("on")
    if not raw:
        return None, None
    try:
        return dt.date.fromisoformat(raw), None
    except ValueError:
        return None, error("日期格式不对，请写成2025-01-01这样。", "invalid_date", 400)


@bp.get("/policies/search")
def search():
    query = clean(request.args.get("q"), max_length=MAX_QUERY_CHARS * 4)
    if not query:
        return error("请输入要查的内容（参数q）。", "missing_query", 400)
    if len(query) > MAX_QUERY_CHARS:
        return error(f"查询内容太长了，请不要超过{MAX_QUERY_CHARS}个字。", "query_too_long", 400)
    try:
        limit = int(request.args.get("limit", 5))
    except ValueError:
        return error("limit 必须是数字。", "invalid_limit", 400)
    limit = max(1, min(limit, MAX_LIMIT))
    on, err = _day()
    if err:
        return err
    try:
        kb = policy_kb.get_kb()
        day = on or clock.today()
        hits = kb.search(query, on=day, limit=limit)
        answer = kb.answer(query, on=day)
    except policy_kb.PolicyPackError as exc:
        log.error("policy pack invalid: %s", exc)
        return error("政策库暂时不可用，请稍后再试，或拨打12349转人工。", "policy_pack_invalid", 503)
    except Exception:
        log.exception("policy search failed for a %d-char query", len(query))
        return error("查询出了点问题，请稍后再试，或拨打12349转人工。", "search_failed", 503)
    return jsonify(
        query=query,
        on=day.isoformat(),
        region=kb.region,
        results=[h.as_dict() for h in hits],
        answer=answer.as_dict(),
    )


@bp.get("/policies/programs/<program_id>")
def program(program_id: str):
    on, err = _day()
    if err:
        return err
    try:
        kb = policy_kb.get_kb()
        found = kb.program(program_id)
        return jsonify(found.as_dict(on or clock.today()))
    except KeyError:
        return error("没有这个政策项目。", "unknown_program", 404)
    except policy_kb.PolicyPackError as exc:
        log.error("policy pack invalid: %s", exc)
        return error("政策库暂时不可用，请稍后再试，或拨打12349转人工。", "policy_pack_invalid", 503)
    except Exception:
        log.exception("policy program lookup failed: %s", program_id)
        return error("查询出了点问题，请稍后再试，或拨打12349转人工。", "lookup_failed", 503)
