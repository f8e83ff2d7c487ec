"""Console pages that act for an elder: policy search, eligibility, booking."""
from __future__ import annotations

import logging

from flask import render_template, request
from sqlalchemy import select

from bot import audit
from bot.db import session_scope
from bot.models import Street
from server.advisor import casework
from server.advisor.auth import actor, client_ip
from server.advisor.blueprint import bp
from server.advisor.forms import EligibilityForm
from server.advisor.views import load_elder

log = logging.getLogger(__name__)

STATUS_ZH = {"eligible": "符合", "not_eligible": "不符合", "unknown": "还需确认"}


@bp.app_template_filter("zh_eligibility")
def zh_eligibility(status: str) -> str:
    return STATUS_ZH.get(status, status)


@bp.app_template_filter("fact_label")
def fact_label(key: str) -> str:
    return casework.FACT_LABELS.get(key, key)


@bp.get("/policies")
def policies():
    query = (request.args.get("q") or "").strip()[:100]
    available, hits, failed = True, [], False
    if query:
        try:
            available, hits = casework.policy_search(query)
        except Exception:
            log.exception("console: policy search failed")
            failed = True
    return render_template("advisor/policies.html", query=query, hits=hits,
                           available=available, failed=failed)


def _bool_text(value) -> str:
    if value is None:
        return ""
    return "是" if value else "否"


def _street_choices(s) -> list[tuple[str, str]]:
    names = list(s.execute(select(Street.name).order_by(Street.id)).scalars())
    return [("", "不清楚")] + [(n, n) for n in names] + [("区外", "不在本区")]


@bp.route("/eligibility", methods=["GET", "POST"])
def eligibility():
    """Runs the engine on an elder's record (prefilled, adjustable) or on facts the advisor
    types in for a caller who has no record yet."""
    elder_id = request.values.get("elder_id", type=int)
    form = EligibilityForm()
    person = None
    with session_scope() as s:
        form.street.choices = _street_choices(s)
        if elder_id:
            person = load_elder(s, elder_id)
    results, error, run = None, None, False
    if request.method == "GET" and person is not None:
        facts = person.facts()
        form.elder_id.data = str(person.id)
        form.age.data = str(facts["age"])
        form.street.data = facts.get("street") or ""
        for key in ("economic_status", "care_level", "living_situation"):
            getattr(form, key).data = facts.get(key) or ""
        for key in ("hukou_local", "dementia", "special_family", "disability_certificate",
                    "veteran"):
            getattr(form, key).data = _bool_text(facts.get(key))
        run = True
    elif form.validate_on_submit():
        run = True
    elif request.method == "POST":
        error = "表单已过期，请刷新页面再试。"
    if run:
        facts = {k: getattr(form, k).data for k in EligibilityForm.FACT_FIELDS}
        facts = {k: v for k, v in facts.items() if v not in (None, "")}
        try:
            results = casework.evaluate(facts)
        except ValueError as exc:  # the engine's FactError carries a Chinese message
            error = getattr(exc, "message_zh", None) or "有一项信息没看明白，请检查后再试。"
        if results is not None and person is not None:
            summary = ", ".join(f"{r.program_id}={r.status}" for r in results)
            audit.record(actor(), "eligibility_check", elder_id=person.id,
                         detail=summary[:900], ip=client_ip())
    return render_template("advisor/eligibility.html", form=form, elder=person,
                           results=results, error=error,
                           engine_missing=run and results is None and error is None)
