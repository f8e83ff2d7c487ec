"""Running on several machines, shown on one: two Rasa servers and two action servers behind
one web server, sharing PostgreSQL (service database and tracker store) and Redis (lock
store). A conversation's turns alternate between the Rasa servers; nothing is lost or
stored twice, and a booking made through them exists exactly once. Skipped, with the
reason, when PostgreSQL or Redis do not answer on localhost."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from tests.pg import REDIS_TEST_URL, postgres_available, redis_available, temporary_database
from tests.stack import (
    ROOT,
    VENV_BIN,
    Process,
    Stack,
    actions_command,
    free_port,
    latest_code,
    rasa_command,
    wait_http,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@dataclass
class TwoByTwo(Stack):
    """Stack with a second Rasa server and a second action server (each Rasa calls its own)."""

    rasa2_port: int = field(default_factory=free_port)
    actions2_port: int = field(default_factory=free_port)

    @property
    def rasa_urls(self) -> list[str]:
        return [self.rasa_url, f"http://127.0.0.1:{self.rasa2_port}"]

    @property
    def actions_urls(self) -> list[str]:
        return [self.actions_url, f"http://127.0.0.1:{self.actions2_port}"]

    def build(self) -> None:
        super().build()
        env = self.env()
        web_env = dict(
            env,
            RASA_URL=",".join(self.rasa_urls),
            ACTION_SERVER_URL=",".join(self.actions_urls),
            LOG_LEVEL="DEBUG",
        )
        self.processes["web"].env = web_env
        second = self.workdir / "endpoints-2.yml"
        subprocess.run(
            [str(VENV_BIN / "python"), "scripts/render_endpoints.py", str(second)],
            cwd=ROOT,
            env=dict(env, ACTION_SERVER_URL=self.actions_urls[1]),
            check=True,
            capture_output=True,
        )
        self.processes["actions2"] = Process(
            "actions2", actions_command(self.actions2_port), env, self.workdir / "actions2.log"
        )
        self.processes["rasa2"] = Process(
            "rasa2",
            rasa_command(self.rasa2_port, env["RASA_AUTH_TOKEN"], second),
            env,
            self.workdir / "rasa2.log",
        )

    def start(self, timeout: float = 240) -> dict[str, float]:
        timings = super().start(timeout)
        wait_http(f"{self.actions_urls[1]}/health", timeout, self.processes["actions2"].popen)
        wait_http(
            f"{self.rasa_urls[1]}/status?token={self.rasa_token}", timeout, self.processes["rasa2"].popen
        )
        wait_http(self.web_url + "/healthz", timeout)
        return timings


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    for reason in (postgres_available(), redis_available()):
        if reason:
            pytest.skip(reason)
    with temporary_database("elder_scale") as url:
        workdir = tmp_path_factory.mktemp("scale")
        s = TwoByTwo(workdir=workdir, database_url=url, extra_env={"REDIS_URL": REDIS_TEST_URL})
        try:
            s.start()
            yield s
        except Exception:
            for name in ("rasa", "rasa2", "actions", "actions2", "web"):
                log = workdir / f"{name}.log"
                if log.exists():
                    print(f"--- {name}.log ---\n" + log.read_text(errors="replace")[-3000:])
            raise
        finally:
            s.stop()


def test_a_booking_through_two_rasa_and_two_action_servers(two, sender):
    engine = sa.create_engine(two.database_url, future=True)
    said = ["我想预约上门理发", "13800000003"]
    two.chat_text(sender, said[0])
    assert "验证码" in two.chat_text(sender, said[1])
    said.append(latest_code(two.database_url, "13800000003"))
    assert "哪一天" in two.chat_text(sender, said[-1])
    for text in ("后天下午", "对", "对"):
        said.append(text)
        reply = two.chat_text(sender, text)
    assert "预约好了" in reply
    conversation = two.conversation(sender)
    with engine.connect() as c:
        users = [
            r[0]
            for r in c.execute(
                sa.text("select data from events where sender_id = :s and type_name = 'user' order by id"),
                {"s": conversation},
            )
        ]
        bookings = c.execute(
            sa.text(
                "select count(*) from bookings b join elders e on "
                "e.id = b.elder_id where e.name = '王秀英' and "
                "b.status = 'booked'"
            )
        ).scalar_one()
    engine.dispose()
    assert len(users) == len(said)  # every turn stored once, none lost
    assert bookings == 1
    # the turns really alternated: both Rasa servers and both action servers worked
    web_log = (two.workdir / "web.log").read_text(errors="replace")
    answered_by = re.findall(r"answered by (http://127\.0\.0\.1:\d+)", web_log)
    assert set(answered_by) >= set(two.rasa_urls)
    for name in ("actions", "actions2"):
        assert "action call " in (two.workdir / f"{name}.log").read_text(errors="replace")
