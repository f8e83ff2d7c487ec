"""Console forms (Flask-WTF: every form carries and checks a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from bot.models.casefile import NOTE_MAX_CHARS, TASK_MAX_CHARS
from bot.models.people import CARE_LEVELS, ECONOMIC_STATUSES, LIVING_SITUATIONS
from bot.text.facts import YES_NO_FACTS


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码。"), Length(max=200)])


class NewUserForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64)])
    display_name = StringField("姓名", validators=[Optional(), Length(max=64)])
    role = SelectField("角色", choices=[("advisor", "顾问"), ("admin", "管理员")])
    password = PasswordField("初始密码", validators=[DataRequired("请填写密码。"), Length(max=200)])


YES_NO = [("", "不清楚"), ("是", "是"), ("否", "否")]


def _choices(values) -> list[tuple[str, str]]:
    return [("", "不清楚")] + [(v, v) for v in values]


class EligibilityForm(FlaskForm):
    """The elder's facts, prefilled from the record; the advisor may adjust them to
    answer "what if" questions on the phone (nothing is saved). "不清楚" leaves a fact
    out, so the engine answers "unknown" where it matters instead of guessing."""

    elder_id = HiddenField()
    age = StringField("年龄（周岁）", validators=[Optional(), Length(max=8)])
    street = SelectField("街道", choices=[], validate_choice=False)
    hukou_local = SelectField("本区户籍", choices=YES_NO, validate_choice=False)
    economic_status = SelectField("经济状况", choices=_choices(ECONOMIC_STATUSES), validate_choice=False)
    care_level = SelectField("身体状况（失能程度）", choices=_choices(CARE_LEVELS), validate_choice=False)
    living_situation = SelectField("居住情况", choices=_choices(LIVING_SITUATIONS), validate_choice=False)
    dementia = SelectField("失智（认知障碍）", choices=YES_NO, validate_choice=False)
    special_family = SelectField("计划生育特殊家庭", choices=YES_NO, validate_choice=False)
    disability_certificate = SelectField("持有残疾证", choices=YES_NO, validate_choice=False)
    veteran = SelectField("退役军人", choices=YES_NO, validate_choice=False)
    poverty_registered = SelectField("纳入建档立卡", choices=YES_NO, validate_choice=False)
    severe_disability_family = SelectField("重度残疾人家庭", choices=YES_NO, validate_choice=False)

    FACT_FIELDS = (
        "age",
        "street",
        "hukou_local",
        "economic_status",
        "care_level",
        "living_situation",
        *(key for key in YES_NO_FACTS if key != "hukou_local"),
    )


# Why visits are cancelled on the phone; "其他" needs the advisor's words.
CANCEL_REASONS = (
    "老人身体不适",
    "住院",
    "家人已安排",
    "时间不方便，以后再约",
    "不需要这项服务了",
    "外出或不在家",
    "其他",
)


class CancelForm(FlaskForm):
    """Cancelling a visit for an elder: a common reason and/or the advisor's words."""

    reason_choice = SelectField(
        "取消原因", choices=[("", "请选择")] + [(r, r) for r in CANCEL_REASONS], validate_choice=False
    )
    reason_text = StringField("补充说明", validators=[Optional(), Length(max=150)])

    def reason(self) -> str | None:
        """The reason to store, or None when none was given ("其他" needs words)."""
        choice = (self.reason_choice.data or "").strip()
        words = (self.reason_text.data or "").strip()
        if choice not in CANCEL_REASONS:
            choice = ""
        if choice == "其他":
            choice = ""
            if not words:
                return None
        text = "：".join(part for part in (choice, words) if part)
        return text[:200] or None


class NoteForm(FlaskForm):
    body = TextAreaField("备注", validators=[DataRequired("请写下备注内容。"), Length(max=NOTE_MAX_CHARS)])


class FollowUpForm(FlaskForm):
    title = StringField(
        "跟进事项", validators=[DataRequired("请写下要跟进的事。"), Length(max=TASK_MAX_CHARS)]
    )
    due_on = DateField("截止日期", validators=[DataRequired("请选择截止日期。")])


class ElderForm(FlaskForm):
    """An elder's record in the register (new or edit). No field validators here on
    purpose: every check is bot/registry/validate.py's, the same as the file import, run
    by bot.registry.console; the form carries the CSRF token and the typed text."""

    name = StringField("姓名")
    id_number = StringField("身份证号")
    phone = StringField("联系电话")
    street = SelectField("街道", choices=[], validate_choice=False)
    community = StringField("社区（选填）")
    address = StringField("详细地址")
    living_situation = SelectField(
        "居住情况", choices=[("", "请选择")] + [(v, v) for v in LIVING_SITUATIONS], validate_choice=False
    )
    economic_status = SelectField(
        "经济状况", choices=[("", "请选择")] + [(v, v) for v in ECONOMIC_STATUSES], validate_choice=False
    )
    care_level = SelectField(
        "能力等级", choices=[("", "请选择")] + [(v, v) for v in CARE_LEVELS], validate_choice=False
    )
    hukou_local = SelectField(
        "户籍本地", choices=[("是", "是"), ("否", "否")], default="是", validate_choice=False
    )
    dementia = SelectField("失智", choices=[("否", "否"), ("是", "是")], validate_choice=False)
    special_family = SelectField(
        "计划生育特殊家庭", choices=[("否", "否"), ("是", "是")], validate_choice=False
    )
    disability_certificate = SelectField(
        "残疾证", choices=[("否", "否"), ("是", "是")], validate_choice=False
    )
    veteran = SelectField("退役军人", choices=[("否", "否"), ("是", "是")], validate_choice=False)
    emergency_contact_name = StringField("紧急联系人")
    emergency_contact_phone = StringField("紧急联系人电话")
    emergency_contact_relation = StringField("与老人关系")
    notes = TextAreaField("备注")

    YES_NO_FIELDS = ("hukou_local", "dementia", "special_family", "disability_certificate", "veteran")
