"""Audit log of the advisor console: who viewed or changed which elder's record, and when.

Write the audit row in the same transaction as the change it records, so a change is
never without its row (pass `session=`); views use their own short transaction.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.text.masking import mask_text
from bot.models.base import newest_for_elder
from bot.models.console import AuditEntry

log = logging.getLogger(__name__)

# action -> what the console shows (Chinese)
ACTIONS_ZH = {
    "view_elder": "查看老人档案",
    "search_elders": "查找老人",
    "reveal_phone": "查看完整电话",
    "eligibility_check": "资格测算",
    "book": "代为预约",
    "cancel_booking": "代为取消预约",
    "reschedule_booking": "代为改期",
    "view_booking_page": "查看预约页面（含住址、预约）",
    "view_elder_facts": "查看老人情况（资格测算页）",
    "identity_verified": "本人核实身份",
    "relative_verified": "家属/代办人核实身份，代老人办理",
    "identity_failed": "身份核实失败",
    "claim_handoff": "认领转人工",
    "close_handoff": "处理完毕",
    "view_conversation": "查看转人工对话记录",
    "live_reply": "在网页对话中回复",
    "create_elder": "新增老人档案",
    "edit_elder": "修改老人档案",
    "set_elder_status": "登记迁出/去世或恢复在册",
    "add_case_note": "添加备注",
    "add_follow_up": "添加跟进事项",
    "complete_follow_up": "完成跟进事项",
    "send_eligibility_sms": "短信发送资格测算结果",
    "view_eligibility_print": "打印资格测算结果",
    "worklist": "查看工作清单",
    "edit_provider": "修改服务机构（联系人、停用、每周名额）",
    "add_closure": "登记停约或调整名额",
    "remove_closure": "删除停约或名额调整",
    "registry_import_services": "导入服务目录",
    "registry_import_providers": "导入服务机构",
    "registry_import_closures": "导入停约日期",
    "registry_capacity": "生成可约时段",
    "view_outreach": "查看外呼关怀进度",
    "outreach_refusal": "登记不再外呼联系",
    "create_user": "新建账号",
    "set_user_active": "启用/停用账号",
    "reset_password": "重设密码",
    "login": "登录",
    "logout": "退出",
}


def record(
    actor: str,
    action: str,
    *,
    elder_id: int | None = None,
    detail: str | None = None,
    ip: str | None = None,
    session: Session | None = None,
) -> None:
    """Adds one audit row; with `session` it joins the caller's transaction."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        elder_id=elder_id,
        detail=mask_text(detail)[:1000] if detail else None,
        ip=ip,
    )
    if session is not None:
        session.add(entry)
    else:
        with session_scope() as s:
            s.add(entry)
    log.info("audit actor=%s action=%s elder=%s", actor, action, elder_id)


def for_elder(session: Session, elder_id: int, limit: int = 20) -> list[AuditEntry]:
    return newest_for_elder(session, AuditEntry, elder_id, limit)


def recent(session: Session, limit: int = 100) -> list[AuditEntry]:
    return list(
        session.execute(
            select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        ).scalars()
    )
