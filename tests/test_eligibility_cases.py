"""Runs the civil-affairs-readable eligibility cases of tests/eligibility_cases/*.yml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.demo import loader as demo
from bot.eligibility.rules import evaluate, programs

CASES_DIR = Path(__file__).parent / "eligibility_cases"


def _load_cases():
    cases = []
    for path in sorted(CASES_DIR.glob("*.yml")):
        for i, case in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
            cases.append(pytest.param(case, id=f"{path.stem}[{i}] {case['name']}"))
    return cases


CASES = _load_cases()


def _iso(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def test_there_are_at_least_forty_cases_and_every_persona_has_one():
    assert len(CASES) >= 40
    personas = {c.values[0].get("persona") for c in CASES}
    assert {p["name"] for p in demo.PERSONAS} <= personas


@pytest.mark.parametrize("case", CASES)
def test_case(case):
    on = case["date"] if isinstance(case["date"], dt.date) else dt.date.fromisoformat(case["date"])
    facts = {k: _iso(v) for k, v in (case.get("facts") or {}).items()}
    results = {r.program_id: r for r in evaluate(facts, on=on)}
    known = {pid for pid, _ in programs()}
    expected = dict(case["expect"])
    assert set(expected) <= known, f"unknown program ids: {set(expected) - known}"
    if "others" in case:
        for pid in known - set(expected):
            expected[pid] = case["others"]
    got = {pid: results[pid].status for pid in expected}
    assert got == expected, "\n".join(
        f"{pid}: expected {expected[pid]}, got {results[pid].status} because "
        + "; ".join(r.text for r in results[pid].reasons)
        for pid in expected
        if got[pid] != expected[pid]
    )
    for pid, tier in (case.get("tier") or {}).items():
        assert results[pid].tier == tier, (pid, results[pid].tier, results[pid].tier_missing)
    for pid, benefit in (case.get("benefit") or {}).items():
        assert results[pid].benefit == benefit
    for pid, missing in (case.get("missing") or {}).items():
        assert results[pid].missing == missing, (pid, results[pid].missing)
    for pid in case.get("review") or []:
        assert results[pid].review and "社区认定" in results[pid].review[0], (pid, results[pid].review)
        assert results[pid].tier is None, (pid, results[pid].tier)
    for pid, words in (case.get("hint_contains") or {}).items():
        assert results[pid].hint and words in results[pid].hint, (pid, results[pid].hint)


@pytest.mark.parametrize("case", [c for c in CASES if c.values[0].get("persona")], ids=lambda c: c["name"])
def test_persona_cases_match_the_demo_data(case):
    """The persona cases must describe the people bot/demo/loader.py loads, not a copy that drifts."""
    persona = next(p for p in demo.PERSONAS if p["name"] == case["persona"])
    facts = case["facts"]
    assert _iso(facts["birth_date"]) == persona["birth_date"].isoformat()
    assert facts["street"] == persona["street"]
    for key in ("economic_status", "care_level", "living_situation"):
        assert facts[key] == persona[key]
    for key in ("special_family", "disability_certificate", "dementia", "veteran"):
        assert facts[key] == persona.get(key, False)
