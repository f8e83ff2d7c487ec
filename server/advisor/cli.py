"""`flask --app server create-user NAME --role advisor|admin` (password prompted, or read
from standard input when it is not a terminal: `echo "$PW" | flask --app server create-user ...`)."""

from __future__ import annotations

import sys

import click
from flask import Flask

from bot import audit
from bot.console_users import UserError, create_user
from bot.db import session_scope
from bot.models.console import ROLES


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="advisor", show_default=True)
@click.option("--display-name", default=None, help="姓名，显示在工作台上")
def create_user_command(username: str, role: str, display_name: str | None) -> None:
    """Create a console account (advisor or admin)."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with session_scope() as s:
            user = create_user(s, username, password, role=role, display_name=display_name)
            audit.record("cli", "create_user", detail=f"{user.username} ({role})", session=s)
    except UserError as exc:
        raise click.ClickException(f"{exc} / {exc.message_zh}") from None
    click.echo(f"created {role} {username.strip().lower()}")


def register(app: Flask) -> None:
    app.cli.add_command(create_user_command)
