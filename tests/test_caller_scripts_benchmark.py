"""The caller-scripts benchmark's documented script fixes (benchmarks/caller_scripts.py --fixes)."""

from __future__ import annotations

from pathlib import Path

from benchmarks import caller_scripts as bench

ROOT = Path(__file__).resolve().parent.parent
FIXES = ROOT / "benchmarks" / "data" / "caller_script_fixes.yaml"


def _result(*turns: str, outcome: str = "fail_goal") -> dict:
    transcript = []
    for i, text in enumerate(turns):
        transcript.append({"role": "assistant" if i % 2 else "caller", "text": text})
    return {"outcome": outcome, "transcript": transcript}


SCRIPT = {"must_not": "可能是诈骗|utter_", "success": "^已取消"}


def test_a_fixed_success_on_a_later_turn_passes():
    res = _result("取消明天的", "您要取消明天上午的助洁，对吗？", "对", "好的，明天上午的助洁已经取消了。")
    assert bench.rescore(res, SCRIPT, r"^(?!.*对吗)(好的，)?[^。？]{0,40}已经取消了") == "pass"


def test_must_not_before_the_fixed_success_still_fails():
    res = _result("取消", "这可能是诈骗", "不是", "好的，已经取消了。")
    assert bench.rescore(res, SCRIPT, "已经取消了") == "fail_must_not"


def test_no_match_keeps_the_outcome():
    res = _result("取消", "您要取消哪一个？", outcome="fail_goal")
    assert bench.rescore(res, SCRIPT, "已经取消了") == "fail_goal"


def test_the_fixes_file_is_well_formed():
    fixes = bench.load_fixes(FIXES)
    assert fixes and all(fix["why"].strip() for fix in fixes.values())
