"""The outbound-care scheduler process (Procfile `scheduler`):

    .venv/bin/python -m bot.outreach.scheduler

APScheduler keeps its jobs in the service database (table `apscheduler_jobs`), so every
scheduler process shares one job list. Cron triggers (China time) fire the visit reminders
at REMINDER_TIME (default 18:00), a second call to unanswered landlines 90 minutes later,
and the day's check-in calls at CHECKIN_TIME (default 10:00). APScheduler does not stop
two processes from firing the same job, so each run claims a `job_runs` row first (bot/outreach/jobs.py) and
only the first claimant sends anything.
"""

from __future__ import annotations

import logging

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import get_settings
from bot.outreach import rules

log = logging.getLogger(__name__)

TIMEZONE = "Asia/Shanghai"
REMIND_JOB_ID = "care-remind"
REMIND_RETRY_JOB_ID = "care-remind-retry"
CHECKIN_JOB_ID = "care-checkins"
RETRY_AFTER_MINUTES = 90  # the second reminder call, after the first run
JOBS_TABLE = "apscheduler_jobs"


def reminder_time(value: str | None = None) -> tuple[int, int]:
    """REMINDER_TIME (or CHECKIN_TIME) "HH:MM" -> (hour, minute); ValueError when malformed."""
    text = (value if value is not None else get_settings().reminder_time).strip()
    hour_text, _, minute_text = text.partition(":")
    hour, minute = int(hour_text), int(minute_text or 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"REMINDER_TIME {text!r} is not a time of day HH:MM")
    return hour, minute


def remind_job() -> None:
    """What the cron trigger runs (a module-level function: the job store keeps its name)."""
    from bot.outreach.jobs import run_reminder_job

    run_reminder_job()


def remind_retry_job() -> None:
    from bot.outreach.jobs import run_reminder_job

    run_reminder_job(retry=True)


def checkin_job() -> None:
    from bot.outreach.jobs import run_checkin_job

    run_checkin_job()


def build_scheduler(
    scheduler_class: type[BaseScheduler] = BlockingScheduler, database_url: str | None = None
) -> BaseScheduler:
    settings = get_settings()
    hour, minute = reminder_time(settings.reminder_time)
    retry = hour * 60 + minute + RETRY_AFTER_MINUTES
    checkin_hour, checkin_minute = reminder_time(settings.checkin_time)
    start, end = rules.CONTACT_HOURS
    # (the setting named in a warning, the job's function, id and name, minutes after midnight)
    jobs = (
        ("REMINDER_TIME", "remind_job", REMIND_JOB_ID, "evening-before visit reminders", hour * 60 + minute),
        (
            "the reminder retry",
            "remind_retry_job",
            REMIND_RETRY_JOB_ID,
            "second reminder call to unanswered landlines",
            retry,
        ),
        (
            "CHECKIN_TIME",
            "checkin_job",
            CHECKIN_JOB_ID,
            "monthly check-in calls (daily attempts)",
            checkin_hour * 60 + checkin_minute,
        ),
    )
    for setting, _job, _job_id, _name, at in jobs:
        if not start.hour * 60 <= at < end.hour * 60:
            log.warning(
                "%s %02d:%02d is outside contact hours %s-%s: its contacts will be recorded as skipped",
                setting,
                at // 60 % 24,
                at % 60,
                start.strftime("%H:%M"),
                end.strftime("%H:%M"),
            )
    scheduler = scheduler_class(
        jobstores={
            "default": SQLAlchemyJobStore(url=database_url or settings.database_url, tablename=JOBS_TABLE)
        },
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=TIMEZONE,
    )
    for _setting, job, job_id, name, at in jobs:
        scheduler.add_job(
            f"bot.outreach.scheduler:{job}",
            CronTrigger(hour=at // 60 % 24, minute=at % 60, timezone=TIMEZONE),
            id=job_id,
            name=name,
            replace_existing=True,
        )
    return scheduler


def main() -> None:
    logging.basicConfig(
        level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    from bot.text.masking import install_log_masking

    install_log_masking()
    scheduler = build_scheduler()
    log.info("outreach scheduler starting: reminders at %02d:%02d %s", *reminder_time(), TIMEZONE)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("outreach scheduler stopped")


if __name__ == "__main__":
    main()
