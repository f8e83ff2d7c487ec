"""GET /api/policies/search and /api/policies/programs/<id> through the real Flask app."""

from __future__ import annotations

import shutil

import pytest

from bot.policy import kb as policy_kb
from bot.config import PROJECT_ROOT
from server import create_app


@pytest.fixture
def client(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    policy_kb.clear_cache()
    app = create_app({"TESTING": True})
    yield app.test_client()
    policy_kb.clear_cache()


def test_search_returns_ranked_cited_results(client):
    r = client.get("/api/policies/search", query_string={"q": "时间迎行怎么参加"})
    assert r.status_code == 200
    body = r.get_json()
    top = body["results"][0]
    assert top["program_id"] == "time_bank" and top["score"] >= policy_kb.ANSWER_THRESHOLD
    assert top["citation"]["title"] == "示范区养老服务发展“十四五”规划"
    assert top["citation"]["file"].startswith("004_") and top["citation"]["clause"]
    assert "依据：《示范区养老服务发展“十四五”规划》第" in top["answer"]
    assert top["citation"]["section"] in top["answer"]
    scores = [h["score"] for h in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert body["answer"]["kind"] == "answer" and body["answer"]["program_id"] == "time_bank"


def test_search_answers_for_the_date_asked(client):
    q = {"q": "80岁以上每个月免费照料几个小时"}
    old = client.get("/api/policies/search", query_string={**q, "on": "2023-06-01"}).get_json()
    new = client.get("/api/policies/search", query_string={**q, "on": "2026-11-23"}).get_json()
    assert old["on"] == "2023-06-01" and "每月免费照料2小时" in old["answer"]["text"]
    assert "不少于3小时" in new["answer"]["text"]


def test_search_out_of_pack_is_flagged_not_sure(client):
    body = client.get("/api/policies/search", query_string={"q": "殡葬补贴怎么领"}).get_json()
    assert body["answer"]["kind"] == "not_sure" and "人工" in body["answer"]["text"]


@pytest.mark.parametrize(
    "params,code",
    [
        ({}, "missing_query"),
        ({"q": "   "}, "missing_query"),
        ({"q": "养" * 101}, "query_too_long"),
        ({"q": "时间银行", "on": "2025/01/01"}, "invalid_date"),
        ({"q": "时间银行", "limit": "many"}, "invalid_limit"),
    ],
)
def test_bad_requests_get_a_chinese_400(client, params, code):
    r = client.get("/api/policies/search", query_string=params)
    assert r.status_code == 400
    body = r.get_json()
    assert body["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in body["error"])


def test_limit_is_respected(client):
    body = client.get("/api/policies/search", query_string={"q": "养老服务", "limit": 2}).get_json()
    assert len(body["results"]) <= 2


def test_a_broken_pack_gives_503_not_500(client, monkeypatch, tmp_path):
    broken = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies" / "national", broken / "national")
    shutil.copytree(
        PROJECT_ROOT / "policies" / "demo_district",
        broken / "demo_district",
        ignore=shutil.ignore_patterns("rules"),
    )
    (broken / "demo_district" / "programs" / "meal_aid.yml").write_text("id: [", encoding="utf-8")
    monkeypatch.setenv("POLICIES_DIR", str(broken))
    policy_kb.clear_cache()
    r = client.get("/api/policies/search", query_string={"q": "助餐点"})
    assert r.status_code == 503 and r.get_json()["code"] == "policy_pack_invalid"
    assert "12349" in r.get_json()["error"]


def test_program_detail(client):
    r = client.get("/api/policies/programs/free_home_care_80plus", query_string={"on": "2023-06-01"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["parameters"]["hours_per_month"]["in_force"]["value"] == 2
    assert len(body["parameters"]["hours_per_month"]["history"]) == 2
    assert client.get("/api/policies/programs/nope").status_code == 404
