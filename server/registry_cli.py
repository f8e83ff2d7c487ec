"""`flask --app server registry ...`: bring a district's registry files in.

    flask --app server registry import-elders FILE [--dry-run] [--skip-errors]

Prints one summary line (`N rows: X new, Y updated, Z unchanged, E errors`), then one line
per problem (`第5行 身份证号：校验位不对…`: the spreadsheet's row number, the header is row 1),
then the elders of the register who are not in the file (listed for review, never deleted).
Exits 1 when a row has an error (nothing is written then, unless --skip-errors writes the
good rows) and 2 when the file as a whole cannot be read.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from bot.text.masking import mask_text

registry_cli = AppGroup("registry", help="Import the district's registry files.")


def run_import(fn, path: str, dry_run: bool, skip_errors: bool):
    """The report of importing `path` with `fn`; a file that cannot be read at all is said
    on stderr and exits 2."""
    from bot.registry.files import RegistryFileError

    try:
        return fn(path, dry_run=dry_run, skip_errors=skip_errors, actor="cli")
    except RegistryFileError as exc:
        click.echo(f"{mask_text(path)}: {exc}", err=True)
        raise SystemExit(2) from None


def echo_summary(report, dry_run: bool) -> None:
    """An import's summary line, whether anything was written, and its row errors."""
    click.echo(
        report.summary()
        + (" (dry run: nothing written)" if dry_run else "" if report.written else " (nothing written)")
    )
    for problem in report.errors:
        click.echo(problem.line())


def _report(report, dry_run: bool) -> None:
    echo_summary(report, dry_run)
    if report.not_in_file:
        click.echo(
            f"{len(report.not_in_file)} elders of the register are not in this file (kept; please review):"
        )
        for elder_id, name, last4, street in report.not_in_file:
            click.echo(f"  #{elder_id} {name} 身份证尾号{last4} {street}")


@registry_cli.command("import-elders")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check and count only; write nothing")
@click.option("--skip-errors", is_flag=True, help="write the good rows even when others have errors")
def import_elders_command(path: str, dry_run: bool, skip_errors: bool) -> None:
    """Import or update elders from a CSV or XLSX file (upsert by ID number)."""
    from bot.registry.elders import import_elders

    report = run_import(import_elders, path, dry_run, skip_errors)
    _report(report, dry_run)
    if report.errors:
        raise SystemExit(1)


def register(app: Flask) -> None:
    # import-services, import-providers, import-closures, capacity
    from server import registry_catalogue_cli  # noqa: F401  (commands register on import)

    app.cli.add_command(registry_cli)
