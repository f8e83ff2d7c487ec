"""Conversation tests for the main stories (issue 18, item 6): tests/stories/test_stories.yml
run through the trained model by Rasa's own story test, `rasa test core --e2e`.

Every `user:` line is parsed by the model's NLU pipeline (safety layer included) and must
give the story's intent and entities; every `action:` must be what the policies predict.
Actions are not executed, so no action server is needed: the events an action would return
(a form finishing, `safety_open`, `policy_human_offered`) are written in the stories, and
form rejections are emulated by Rasa's test (rasa/core/test.py, emulate_loop_rejection).

Rasa runs once per module; each story is one test. `--fail-on-prediction-errors` is not
used: it stops at the first wrong prediction and writes no report. Instead `--successes`
writes the stories that passed and failed_test_stories.yml the ones that did not, with
`# predicted:` comments, which a failing test prints.

KNOWN_WRONG lists stories that describe what the bot should do while it does something
else today (found by these tests; the bot is not changed here). They are expected to fail
(strict xfail): when the bot is fixed, the test reports it so the entry is removed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.stack import MODEL, ROOT, VENV_BIN

pytestmark = pytest.mark.e2e

STORIES_DIR = Path("tests") / "stories"  # relative to ROOT: Rasa names stories by this path
STORY_FILE = ROOT / STORIES_DIR / "test_stories.yml"
RASA_TIMEOUT = 170  # seconds; a run takes about 30

# story name -> what the bot does instead (each story also carries a "KNOWN WRONG" comment)
KNOWN_WRONG = {
    "a scam report, then no to the question whether there is anything else": "action_scam_report asks 还有别的事需要帮忙吗 from inside the action, so a 'no' "
    "gets utter_anything_else again instead of utter_goodbye",
    "declining the SMS of the eligibility result": "'短信就不用发了' is read as send_result_sms, so the SMS form asks for a number",
    "an unsure policy answer, the caller says yes, put me through": "'行，那麻烦帮我转过去' after the offer of an advisor is nlu_fallback: the caller is "
    "asked to rephrase instead of being handed over",
}


def _story_names() -> list[str]:
    data = yaml.safe_load(STORY_FILE.read_text(encoding="utf-8"))
    return [story["story"] for story in data.get("stories") or []]


STORY_NAMES = _story_names()


def _split_stories(path: Path) -> dict[str, str]:
    """Story name -> its text (comments kept: they carry Rasa's `# predicted:` notes).
    Rasa appends the file to the name: "name (tests/stories/test_stories.yml)"."""
    if not path.exists():
        return {}
    blocks: dict[str, str] = {}
    name = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("- story: "):
            name = line[len("- story: ") :].rsplit(" (", 1)[0]
            blocks[name] = ""
        if name is not None:
            blocks[name] += line + "\n"
    return blocks


@pytest.fixture(scope="module")
def story_results(tmp_path_factory):
    """Runs `rasa test core --e2e` once: (names of passed stories, failed name -> text)."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does it)")
    out = tmp_path_factory.mktemp("story-test")
    env = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [
        str(VENV_BIN / "rasa"),
        "test",
        "core",
        "--stories",
        str(STORIES_DIR),
        "--model",
        str(MODEL),
        "--out",
        str(out),
        "--e2e",
        "--successes",
        "--no-plot",
    ]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RASA_TIMEOUT)
    if run.returncode != 0:
        pytest.fail(
            f"`{' '.join(cmd)}` exited with {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
    passed = set(_split_stories(out / "successful_test_stories.yml"))
    failed = _split_stories(out / "failed_test_stories.yml")
    return passed, failed


def test_story_file_and_known_wrong_agree():
    assert len(STORY_NAMES) == len(set(STORY_NAMES)), "story names must be unique"
    assert set(KNOWN_WRONG) <= set(STORY_NAMES), set(KNOWN_WRONG) - set(STORY_NAMES)


def test_every_story_was_evaluated(story_results):
    passed, failed = story_results
    assert passed.isdisjoint(failed)
    assert passed | set(failed) == set(STORY_NAMES), {
        "not evaluated": sorted(set(STORY_NAMES) - passed - set(failed)),
        "unknown": sorted((passed | set(failed)) - set(STORY_NAMES)),
    }


@pytest.mark.parametrize("name", STORY_NAMES)
def test_story(story_results, name):
    passed, failed = story_results
    if name in KNOWN_WRONG:
        if name in passed:
            pytest.fail(
                f"story {name!r} now passes: remove it from KNOWN_WRONG and its "
                "KNOWN WRONG comment in tests/stories/test_stories.yml"
            )
        pytest.xfail(f"known wrong: {KNOWN_WRONG[name]}")
    if name not in passed:
        pytest.fail(
            f"story {name!r} failed (Rasa's failed_test_stories.yml; '# predicted:' "
            f"marks what the model did):\n{failed.get(name, '(not evaluated)')}",
            pytrace=False,
        )
