"""The widget's server side: demo page, embeddable script, stylesheet, CORS for embedding
sites (Flask test client). The widget's behaviour in a browser is in test_widget_browser.py."""

from __future__ import annotations

import re

import pytest

from server import create_app


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("WIDGET_ALLOWED_ORIGINS", "https://partner.example, https://care.example/")
    return create_app({"TESTING": True}).test_client()


def test_demo_page_embeds_the_widget_with_one_script_tag(client):
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert len(re.findall(r'<script src="/widget.js"', html)) == 1
    assert 'name="viewport"' in html  # phone-sized screens
    assert "&lt;script" not in html, "the elders' page shows no embed code"
    assert 'href="tel:12349"' in html


def test_embedding_instructions_are_for_site_owners_on_their_own_page(client):
    html = client.get("/embed").get_data(as_text=True)
    assert "&lt;script src=" in html and "widget.js" in html and "WIDGET_ALLOWED_ORIGINS" in html


def test_widget_script_and_styles_are_served(client):
    js = client.get("/widget.js")
    assert js.status_code == 200 and js.mimetype == "application/javascript"
    assert js.headers["X-Content-Type-Options"] == "nosniff"
    source = js.get_data(as_text=True)
    assert "/api/chat" in source and "/static/widget/widget.css" in source
    css = client.get("/static/widget/widget.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "#elder12349-widget" in css.get_data(as_text=True)


def test_widget_never_writes_html_from_text():
    """Every message is put into the page as text; the script has no HTML sinks."""
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "server/static/widget/widget.js").read_text()
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code, sink
    assert "textContent" in code
    assert 'lang = "zh-CN"' in code  # read-aloud in Mandarin


def test_cors_only_for_configured_embedding_sites(client):
    ok = client.options(
        "/api/chat", headers={"Origin": "https://care.example", "Access-Control-Request-Method": "POST"}
    )
    assert ok.headers.get("Access-Control-Allow-Origin") == "https://care.example"
    assert "Content-Type" in ok.headers.get("Access-Control-Allow-Headers", "")
    other = client.options(
        "/api/chat", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in other.headers
    # only the chat API is opened to embedding sites, never the console
    console = client.get("/advisor/login", headers={"Origin": "https://care.example"})
    assert "Access-Control-Allow-Origin" not in console.headers


def test_each_chat_reply_carries_the_wording_to_read_aloud(monkeypatch, db_url):
    """The widget's 自动朗读 reads `speech` (the phone wording: 12349 digit by digit, no
    symbols), not the text as shown; the shown text and the buttons stay as they were."""
    from server import rasa_client
    from server.api import chat as api
    from server.speech import speakable

    shown = "请拨打12349，每月补贴300元。"
    monkeypatch.setattr(api, "_chat_limiter", None)
    monkeypatch.setattr(api, "_address_limiter", None)
    monkeypatch.setattr(
        rasa_client,
        "send_message",
        lambda sender, text, meta: rasa_client.ChatResult(
            [
                rasa_client.Reply(shown, [{"title": "好的", "payload": "/affirm"}]),
                rasa_client.Reply("再见。", custom={"end": True}),
            ]
        ),
    )
    r = create_app({"TESTING": True}).test_client().post("/api/chat", json={"message": "你好"})
    assert r.status_code == 200
    first, second = r.get_json()["replies"]
    assert first["text"] == shown and first["speech"] == speakable(shown)
    assert "12349" not in first["speech"] and "幺二三四九" in first["speech"]
    assert [b["title"] for b in first["buttons"]] == ["好的"]
    assert second["speech"] == speakable("再见。") and second["custom"] == {"end": True}


def test_cors_lets_embedding_sites_poll_for_advisor_messages(client):
    r = client.get("/api/chat/updates?sender=x&after=0", headers={"Origin": "https://partner.example"})
    assert r.headers.get("Access-Control-Allow-Origin") == "https://partner.example"
    assert "GET" in r.headers.get("Access-Control-Allow-Methods", "")
    other = client.get("/api/chat/updates?sender=x&after=0", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
