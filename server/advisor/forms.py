"""Console forms (Flask-WTF: every form carries and checks a CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from bot.models.people import CARE_LEVELS, ECONOMIC_STATUSES, LIVING_SITUATIONS


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

    FACT_FIELDS = ("age", "street", "hukou_local", "economic_status", "care_level",
                   "living_situation", "dementia", "special_family", "disability_certificate",
                   "veteran", "poverty_registered", "severe_disability_family")


class CancelForm(FlaskForm):
    reason = TextAreaField("取消原因", validators=[Optional(), Length(max=200)])


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
    living_situation = SelectField("居住情况", choices=[("", "请选择")] + [(v, v) for v in LIVING_SITUATIONS],
                                   validate_choice=False)
    economic_status = SelectField("经济状况", choices=[("", "请选择")] + [(v, v) for v in ECONOMIC_STATUSES],
                                  validate_choice=False)
    care_level = SelectField("能力等级", choices=[("", "请选择")] + [(v, v) for v in CARE_LEVELS],
                             validate_choice=False)
    hukou_local = SelectField("户籍本地", choices=[("是", "是"), ("否", "否")], default="是",
                              validate_choice=False)
    dementia = SelectField("失智", choices=[("否", "否"), ("是", "是")], validate_choice=False)
    special_family = SelectField("计划生育特殊家庭", choices=[("否", "否"), ("是", "是")],
                                 validate_choice=False)
    disability_certificate = SelectField("残疾证", choices=[("否", "否"), ("是", "是")],
                                         validate_choice=False)
    veteran = SelectField("退役军人", choices=[("否", "否"), ("是", "是")], validate_choice=False)
    emergency_contact_name = StringField("紧急联系人")
    emergency_contact_phone = StringField("紧急联系人电话")
    emergency_contact_relation = StringField("与老人关系")
    notes = TextAreaField("备注")

    YES_NO_FIELDS = ("hukou_local", "dementia", "special_family", "disability_certificate",
                     "veteran")
