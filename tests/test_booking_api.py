"""Read-only booking endpoints of the web server (Flask test client, real database)."""

from server import create_app


def client():
    return create_app({"TESTING": True}).test_client()


def test_services_and_windows(db_url):
    c = client()
    names = [s["name"] for s in c.get("/api/booking/services").json["services"]]
    assert names == ["助餐", "助洁", "助浴", "助医陪诊", "康复护理", "上门理发"]
    body = c.get(
        "/api/booking/windows", query_string={"service": "bath", "street": "五老村", "around": "后天上午"}
    ).json
    assert 1 <= len(body["windows"]) <= 3
    assert all("星期" in w["spoken"] and w["free_places"] > 0 for w in body["windows"])


def test_bad_requests_are_explained(db_url):
    c = client()
    r = c.get("/api/booking/windows", query_string={"service": "修电脑", "street": "五老村"})
    assert r.status_code == 404 and r.json["code"] == "unknown_service"
    r = c.get("/api/booking/windows", query_string={"service": "bath"})
    assert r.status_code == 400 and "街道" in r.json["error"]
    r = c.get(
        "/api/booking/windows", query_string={"service": "bath", "street": "五老村", "around": "2月30日"}
    )
    assert r.status_code == 400 and r.json["code"] == "impossible_date"
    assert c.get("/api/booking/parse_time", query_string={"q": "明天晚上"}).json["code"] == "outside_hours"
