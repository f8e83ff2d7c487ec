"""Outbound care (issue 21): contact rules, visit reminders by SMS, the scheduler process.

Framework-free like the rest of bot/: the Flask CLI (server/care_cli.py) and the scheduler
(bot/outreach/scheduler.py) call these functions."""
