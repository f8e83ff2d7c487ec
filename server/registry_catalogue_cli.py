"""`flask --app server registry ...` for the booking area's files and capacity windows:

    flask --app server registry import-services FILE [--dry-run] [--skip-errors]
    flask --app server registry import-providers FILE [--dry-run] [--skip-errors]
    flask --app server registry import-closures FILE [--dry-run] [--skip-errors]
    flask --app server registry capacity [--weeks N] [--from YYYY-MM-DD] [--dry-run]

The imports print what import-elders prints (summary line, then `第N行 字段：原因` per problem;
exit 1 with problems, 2 when the file cannot be read), then the rows of the database the
file does not name, then what happened to the capacity windows of the providers concerned
(they are regenerated in the same transaction). `capacity` keeps every active provider's
windows CAPACITY_WEEKS_AHEAD weeks ahead and lists the windows held above their template
or closure because elders have booked them: call those elders to move their visits.
"""

from __future__ import annotations

import datetime as dt

import click

from server.registry_cli import echo_summary, registry_cli, run_import

MAX_LISTED = 50  # changed windows printed one by one; the rest are counted


def _print_capacity(report, written: bool = True) -> None:
    if report is None:
        return
    click.echo(report.summary() + ("" if written else " (not written)"))
    for name, added in report.added_by_provider.items():
        click.echo(f"  {name}: {added} added")
    for change in report.changes[:MAX_LISTED]:
        click.echo(f"  changed {change.label}: {change.old} -> {change.new}")
    if len(report.changes) > MAX_LISTED:
        click.echo(f"  ... and {len(report.changes) - MAX_LISTED} more changed")
    if report.no_template:
        click.echo(
            "providers without a weekly template (windows left as they are; import "
            "the providers file): " + "、".join(report.no_template)
        )
    if report.held:
        click.echo(
            f"{len(report.held)} windows keep more places than planned because elders "
            "booked them; please call them to move these visits:"
        )
        for held in report.held:
            click.echo(f"  {held.line_zh()}")


def _run_import(fn, path: str, dry_run: bool, skip_errors: bool, what: str) -> None:
    report = run_import(fn, path, dry_run, skip_errors)
    echo_summary(report, dry_run)
    if report.not_in_file:
        click.echo(
            f"{len(report.not_in_file)} {what} in the database are not in this file "
            "(kept): " + "、".join(report.not_in_file)
        )
    _print_capacity(report.capacity, report.written)
    if report.errors:
        raise SystemExit(1)


def _import_options(fn):
    fn = click.option("--skip-errors", is_flag=True, help="write the good rows even when others have errors")(
        fn
    )
    fn = click.option("--dry-run", is_flag=True, help="check and count only; write nothing")(fn)
    return click.argument("path", type=click.Path(exists=True, dir_okay=False))(fn)


@registry_cli.command("import-services")
@_import_options
def import_services_command(path: str, dry_run: bool, skip_errors: bool) -> None:
    """Import or update the service catalogue (upsert by 服务代码)."""
    from bot.registry.services import import_services

    _run_import(import_services, path, dry_run, skip_errors, "services")


@registry_cli.command("import-providers")
@_import_options
def import_providers_command(path: str, dry_run: bool, skip_errors: bool) -> None:
    """Import or update providers and their weekly capacity (upsert by 机构名称)."""
    from bot.registry.providers import import_providers

    _run_import(import_providers, path, dry_run, skip_errors, "providers")


@registry_cli.command("import-closures")
@_import_options
def import_closures_command(path: str, dry_run: bool, skip_errors: bool) -> None:
    """Import public holidays, closures and extra places (upsert by 日期, 机构名称, 时段)."""
    from bot.registry.capacity import import_closures

    _run_import(import_closures, path, dry_run, skip_errors, "closures")


def _first_day(_ctx, _param, value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"“{value}”不是日期，请写成2026-12-01") from None


@registry_cli.command("capacity")
@click.option(
    "--weeks", type=click.IntRange(1, 104), default=None, help="weeks ahead (default CAPACITY_WEEKS_AHEAD, 6)"
)
@click.option("--from", "first", callback=_first_day, metavar="YYYY-MM-DD", help="first day (default today)")
@click.option("--dry-run", is_flag=True, help="show what would change; write nothing")
def capacity_command(weeks: int | None, first: dt.date | None, dry_run: bool) -> None:
    """Keep every active provider's capacity windows generated weeks ahead."""
    from bot.registry.capacity import regenerate

    report = regenerate(first=first, weeks=weeks, dry_run=dry_run, actor="cli")
    _print_capacity(report, written=not dry_run)
