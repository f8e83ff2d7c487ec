"""Scheduled jobs run at most once per run key, whichever scheduler process gets there
first: each run first inserts a `job_runs` row (UNIQUE job, run_key) in its own
transaction; the process that loses the insert logs it and does nothing."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable
from typing import TypeVar, cast

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot import clock
from bot.db import session_scope
from bot.models.outreach import JobRun
from bot.outreach.checkins import CheckinRun, run_checkins
from bot.outreach.reminders import ReminderRun, send_reminders

log = logging.getLogger(__name__)

REMIND_JOB = "remind"
REMIND_RETRY_JOB = "remind-retry"  # the second call to landlines that did not answer
CHECKIN_JOB = "checkins"


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def claim_run(job: str, run_key: str, *, database_url: str | None = None) -> int | None:
    """The job_runs row's id, or None when another process claimed this run. A run that
    failed may be claimed again (the jobs are idempotent per item), by one process only:
    the conditional UPDATE's row count says who won."""
    try:
        with session_scope(database_url) as s:
            row = JobRun(job=job, run_key=run_key, status="running", owner=_owner())
            s.add(row)
            s.flush()
            return cast("int | None", row.id)
    except IntegrityError:
        pass
    with session_scope(database_url) as s:
        retried = s.execute(
            update(JobRun)
            .where(JobRun.job == job, JobRun.run_key == run_key, JobRun.status == "failed")
            .values(status="running", owner=_owner(), finished_at=None)
        )
        if retried.rowcount == 1:
            log.info("job %s %s failed before: claimed again", job, run_key)
            return cast(
                "int | None",
                s.execute(select(JobRun.id).where(JobRun.job == job, JobRun.run_key == run_key)).scalar_one(),
            )
    log.info("job %s %s already claimed by another process; nothing to do", job, run_key)
    return None


def finish_run(run_id: int, status: str, summary: str, *, database_url: str | None = None) -> None:
    with session_scope(database_url) as s:
        row = s.get(JobRun, run_id)
        row.status, row.summary, row.finished_at = status, summary[:2000], clock.utcnow_naive()


_Run = TypeVar("_Run", ReminderRun, CheckinRun)


def _claimed(job: str, run_key: str, work: Callable[[], _Run], database_url: str | None) -> _Run | None:
    run_id = claim_run(job, run_key, database_url=database_url)
    if run_id is None:
        return None
    try:
        run = work()
    except Exception as exc:
        finish_run(run_id, "failed", type(exc).__name__, database_url=database_url)
        log.exception("job %s %s failed", job, run_key)
        raise
    finish_run(run_id, "done", run.summary(), database_url=database_url)
    return run


def run_reminder_job(
    day: dt.date | None = None, *, retry: bool = False, database_url: str | None = None
) -> ReminderRun | None:
    """The scheduler's reminder run for `day` (default today, China time); None when
    another process has claimed it. The retry run (later the same evening) calls the
    landlines whose first reminder call was not answered; SMS already sent stay sent."""
    day = day or clock.today()
    return _claimed(
        REMIND_RETRY_JOB if retry else REMIND_JOB,
        day.isoformat(),
        lambda: send_reminders(day, database_url=database_url),
        database_url,
    )


def run_checkin_job(day: dt.date | None = None, *, database_url: str | None = None) -> CheckinRun | None:
    """The scheduler's daily check-in run (this month's campaign); None when another
    process has claimed today's run."""
    day = day or clock.today()
    return _claimed(CHECKIN_JOB, day.isoformat(), lambda: run_checkins(day), database_url)
