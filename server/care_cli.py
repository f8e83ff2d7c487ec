"""`flask --app server care ...`: run outbound-care jobs by hand.

    flask --app server care remind [--date YYYY-MM-DD] [--dry-run]
    flask --app server care checkins [--month YYYY-MM] [--dry-run]
    flask --app server care refuse ELDER_ID [--note TEXT]

`remind` texts the visits of the day after --date (default: today, China time) that have
not been reminded yet, one line per booking (texted, skipped and why; numbers masked) and a
summary line; --dry-run writes nothing. A run by hand does not claim the scheduler's run
(job_runs): it is safe anyway, each booking is reminded at most once.
`checkins` calls this month's check-in campaign members who are due today (one line per
member: called, skipped and why), within the contact rules; --dry-run lists who would be
called. A month other than the current one is listed only: calls are made today.
`refuse` puts an elder on the refusal list (source advisor): no reminders or calls.
"""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask
from flask.cli import AppGroup

care_cli = AppGroup("care", help="Outbound care: visit reminders, check-in calls, contact rules.")


@care_cli.command("remind")
@click.option(
    "--date",
    "day",
    default=None,
    metavar="YYYY-MM-DD",
    help="the day of the run (visits of the next day); default today, China time",
)
@click.option("--dry-run", is_flag=True, help="list who would be texted; write and send nothing")
def remind_command(day: str | None, dry_run: bool) -> None:
    """Text tomorrow's booked visits a reminder (once per booking)."""
    from bot.outreach.reminders import send_reminders

    try:
        run_day = dt.date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date YYYY-MM-DD", param_hint="--date") from None
    run = send_reminders(run_day, dry_run=dry_run)
    for outcome in run.outcomes:
        click.echo(outcome.line())
    click.echo(run.summary())


@care_cli.command("checkins")
@click.option(
    "--month", default=None, metavar="YYYY-MM", help="the campaign month; default this month (China time)"
)
@click.option("--dry-run", is_flag=True, help="list who would be called; write and dial nothing")
def checkins_command(month: str | None, dry_run: bool) -> None:
    """Call today's due monthly check-ins (at most one attempt a day, three a month)."""
    from bot.outreach.campaign import month_key, parse_month
    from bot.outreach.checkins import run_checkins

    try:
        month = month_key(parse_month(month)) if month else None
    except ValueError:
        raise click.BadParameter(f"{month!r} is not a month YYYY-MM", param_hint="--month") from None
    run = run_checkins(dry_run=dry_run, month=month)
    for outcome in run.outcomes:
        click.echo(outcome.line())
    click.echo(run.summary())


@care_cli.command("refuse")
@click.argument("elder_id", type=int)
@click.option("--note", default=None, help="why (e.g. 家属来电要求不再联系)")
def refuse_command(elder_id: int, note: str | None) -> None:
    """Put an elder on the refusal list (no outbound reminders or calls)."""
    from bot import audit
    from bot.db import session_scope
    from bot.models import Elder
    from bot.outreach.rules import add_refusal

    with session_scope() as s:
        if s.get(Elder, elder_id) is None:
            raise click.ClickException(f"no elder #{elder_id}")
        add_refusal(s, source="advisor", elder_id=elder_id, created_by="cli", note=note)
        audit.record("cli", "outreach_refusal", elder_id=elder_id, detail=note, session=s)
    click.echo(f"elder #{elder_id} will not be contacted by outbound care")


def register(app: Flask) -> None:
    app.cli.add_command(care_cli)
