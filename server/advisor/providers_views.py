"""Console pages of the service providers (服务机构): the list with services, streets and the
weekly template; an administrator edits a provider's contact, active flag and template;
any advisor adds or removes an exception (a closure, a holiday, extra places) for one
provider or all. Every change is audited and the affected future windows are regenerated
(bot/registry/capacity.py) in the same transaction."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length, Optional

from bot import clock
from bot.config import get_settings
from bot.db import session_scope
from bot.models.booking import PARTS_OF_DAY, CapacityException, Provider
from bot.registry import capacity, validate as v
from bot.registry.files import day as parse_day
from bot.registry.providers import TEMPLATE_COLUMNS, WEEKDAYS_ZH, places, set_template
from server.advisor.auth import actor, admin_required, record
from server.advisor.blueprint import bp

log = logging.getLogger(__name__)

MAX_HELD_SHOWN = 10
# form field name -> (weekday, part) of the template grid: t0am is 周一上午
TEMPLATE_FIELDS = {
    f"t{weekday}{'am' if part == '上午' else 'pm'}": (weekday, part)
    for weekday, part in TEMPLATE_COLUMNS.values()
}


class ClosureForm(FlaskForm):
    day = StringField("日期", validators=[Length(max=20)])
    provider = SelectField("机构", choices=[("", "全部机构")], validate_choice=False)
    part = SelectField("时段", choices=[(p, p) for p in capacity.PARTS_WITH_WHOLE_DAY], validate_choice=False)
    places = StringField("名额（0 = 停约）", default="0", validators=[Length(max=6)])
    reason = StringField("原因", validators=[Length(max=200)])


class ProviderForm(FlaskForm):
    contact_name = StringField("联系人", validators=[Optional(), Length(max=32)])
    phone = StringField("联系电话", validators=[Length(max=30)])
    active = BooleanField("正常接单（不勾选 = 停用）")


for _name in TEMPLATE_FIELDS:
    setattr(ProviderForm, _name, StringField(_name, validators=[Length(max=6)]))


@bp.app_template_filter("phone_display")
def phone_display(number: str | None) -> str:
    """A stored number (02580000001) as people read it (025 8000 0001)."""
    if not number:
        return ""
    import phonenumbers

    try:
        return phonenumbers.format_number(
            phonenumbers.parse(number, "CN"), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:
        return number


def _providers(s) -> list[Provider]:
    return list(
        s.execute(
            select(Provider)
            .options(
                selectinload(Provider.streets),
                selectinload(Provider.service_types),
                selectinload(Provider.templates),
            )
            .order_by(Provider.id)
        ).scalars()
    )


def _upcoming_exceptions(s) -> list[CapacityException]:
    return list(
        s.execute(
            select(CapacityException)
            .options(selectinload(CapacityException.provider))
            .where(CapacityException.day >= clock.today())
            .order_by(
                CapacityException.day,
                CapacityException.provider_id.is_not(None),
                CapacityException.provider_id,
                CapacityException.part,
            )
        ).scalars()
    )


def _flash_capacity(report: capacity.CapacityReport) -> None:
    """What the change did to the windows, for the advisor (Chinese)."""
    weeks = get_settings().capacity_weeks_ahead
    flash(
        f"未来{weeks}周的名额已按新设置更新：新增{report.added}个时段，调整{report.changed}个时段。",
        "success",
    )
    if report.held:
        shown = "；".join(h.line_zh() for h in report.held[:MAX_HELD_SHOWN])
        more = f"；另有{len(report.held) - MAX_HELD_SHOWN}个" if len(report.held) > MAX_HELD_SHOWN else ""
        flash(f"以下时段已经有老人预约，名额只能减到已约人数，请联系老人改期：{shown}{more}。", "error")


def _provider_page(provider: Provider, form: ProviderForm) -> str:
    """The provider's edit page: the form as filled in, with its weekly template grid."""
    return render_template(
        "advisor/provider_edit.html",
        provider=provider,
        form=form,
        fields=TEMPLATE_FIELDS,
        weekdays=WEEKDAYS_ZH,
        parts=PARTS_OF_DAY,
    )


def _closure_form(s) -> ClosureForm:
    form = ClosureForm()
    form.provider.choices = [("", "全部机构")] + [
        (str(pid), name)
        for pid, name in s.execute(select(Provider.id, Provider.name).order_by(Provider.id)).all()
    ]
    return form


@bp.get("/providers")
def providers(closure_form: ClosureForm | None = None):
    with session_scope() as s:
        items = _providers(s)
        exceptions = _upcoming_exceptions(s)
        form = closure_form or _closure_form(s)
        if closure_form is None:
            form.day.data = clock.today().isoformat()
        return render_template(
            "advisor/providers.html",
            providers=items,
            exceptions=exceptions,
            form=form,
            weekdays=WEEKDAYS_ZH,
            parts=PARTS_OF_DAY,
            today=clock.today(),
        )


@bp.post("/providers/closures")
def add_closure():
    """Any advisor: close (0) or change the places of a day for one provider or all."""
    with session_scope() as s:
        form = _closure_form(s)
        form.validate_on_submit()  # CSRF and lengths; the values are checked below
        errors = [e for field in form for e in field.errors]
        values = {}
        for key, check in (
            ("day", lambda x: parse_day(x, field="日期")),
            ("part", lambda x: capacity.part_or_whole_day(x, field="时段")),
            ("places", lambda x: places(x, field="名额", default=0)),
            ("reason", lambda x: v.short_text(x, 200, field="原因", required=True)),
        ):
            try:
                values[key] = check(getattr(form, key).data)
            except v.RowError as exc:
                errors.append(f"{exc.field}：{exc.reason}")
        provider_id = None
        if form.provider.data:
            provider_id = int(form.provider.data) if form.provider.data.isdigit() else -1
            if s.get(Provider, provider_id) is None:
                errors.append("机构：没有这个服务机构。")
        if "day" in values and values["day"] < clock.today():
            errors.append("日期：这一天已经过去了。")
        if errors:
            for e in errors:
                flash(e, "error")
            return providers(closure_form=form), 400
        exception, outcome = capacity.set_exception(
            s,
            day_=values["day"],
            provider_id=provider_id,
            part=values["part"],
            capacity=values["places"],
            reason=values["reason"],
            actor=actor(),
        )
        scope = exception.provider.name if provider_id else "全部机构"
        record(
            "add_closure",
            session=s,
            detail=(
                f"{values['day']} {scope} {values['part'] or capacity.WHOLE_DAY} "
                f"places={values['places']} ({outcome}): {values['reason']}"
            ),
        )
        report = capacity.generate_windows(s, provider_ids=capacity.affected_providers(s, provider_id))
    what = "停约" if values["places"] == 0 else f"名额改为{values['places']}个"
    flash(
        f"已登记：{values['day']:%Y-%m-%d} {scope} {values['part'] or capacity.WHOLE_DAY}{what}。", "success"
    )
    _flash_capacity(report)
    return redirect(url_for("advisor.providers"))


@bp.post("/providers/closures/<int:exception_id>/delete")
def remove_closure(exception_id: int):
    """Any advisor: the day goes back to the weekly template."""
    with session_scope() as s:
        exception = s.get(CapacityException, exception_id)
        if exception is None:
            flash("没有找到这条停约记录，可能已经删除了。", "error")
            return redirect(url_for("advisor.providers"))
        provider_id = exception.provider_id
        scope = exception.provider.name if provider_id else "全部机构"
        label = f"{exception.day:%Y-%m-%d} {scope} {exception.part or capacity.WHOLE_DAY}"
        record("remove_closure", session=s, detail=f"{label} places={exception.capacity}: {exception.reason}")
        s.delete(exception)
        s.flush()
        report = capacity.generate_windows(s, provider_ids=capacity.affected_providers(s, provider_id))
    flash(f"已删除：{label}，恢复按每周名额接单。", "success")
    _flash_capacity(report)
    return redirect(url_for("advisor.providers"))


@bp.route("/providers/<int:provider_id>", methods=["GET", "POST"])
@admin_required
def edit_provider(provider_id: int):
    """An administrator: contact, active flag and weekly template of one provider."""
    area_code = get_settings().local_area_code
    with session_scope() as s:
        provider = s.execute(
            select(Provider).options(selectinload(Provider.templates)).where(Provider.id == provider_id)
        ).scalar_one_or_none()
        if provider is None:
            return render_template("advisor/error.html", title="没有找到", message="没有这个服务机构。"), 404
        form = ProviderForm()
        template = provider.weekly_template()
        if request.method == "GET":
            form.contact_name.data = provider.contact_name or ""
            form.phone.data = provider.phone or ""
            form.active.data = provider.active
            for name, key in TEMPLATE_FIELDS.items():
                getattr(form, name).data = str(template.get(key, 0))
        elif form.validate_on_submit():
            errors, wanted = [], {}
            try:
                contact = v.short_text(form.contact_name.data, 32, field="联系人")
                phone = v.phone(form.phone.data, area_code, field="联系电话", required=True)
            except v.RowError as exc:
                errors.append(f"{exc.field}：{exc.reason}")
            for name, (weekday, part) in TEMPLATE_FIELDS.items():
                label = f"{WEEKDAYS_ZH[weekday]}{part}"
                try:
                    wanted[(weekday, part)] = places(getattr(form, name).data, field=label)
                except v.RowError as exc:
                    errors.append(f"{exc.field}：{exc.reason}")
            if errors:
                for e in errors:
                    flash(e, "error")
                return _provider_page(provider, form), 400
            changes = []
            if (provider.contact_name or None) != contact:
                changes.append("联系人")
                provider.contact_name = contact
            if provider.phone != phone:
                changes.append("联系电话")
                provider.phone = phone
            if provider.active != bool(form.active.data):
                provider.active = bool(form.active.data)
                changes.append("启用" if provider.active else "停用")
            moved = [
                f"{WEEKDAYS_ZH[w]}{p} {template.get((w, p), 0)}->{n}"
                for (w, p), n in sorted(wanted.items())
                if template.get((w, p)) != n
            ]
            if set_template(provider, wanted):
                changes.append("每周名额 " + "，".join(moved))
            if not changes:
                flash("没有改动。", "info")
                return redirect(url_for("advisor.providers"))
            s.flush()
            record(
                "edit_provider",
                session=s,
                detail=f"provider {provider.id} {provider.name}: {'；'.join(changes)}",
            )
            report = capacity.generate_windows(s, provider_ids=[provider.id])
            name = provider.name
            flash(f"已保存 {name} 的修改。", "success")
            if provider.active:
                _flash_capacity(report)
            return redirect(url_for("advisor.providers"))
        else:
            for field in form:
                for e in field.errors:
                    flash(e, "error")
            return _provider_page(provider, form), 400
        return _provider_page(provider, form)
