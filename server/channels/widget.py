"""The web chat widget: `/` (the elders' page with it), `/embed` (how a site owner embeds
it), `/widget.js` (embed with one tag).

    <script src="https://HOST/widget.js" defer></script>

The script finds its own origin from its `src`, loads its stylesheet from there, posts
to `/api/chat` there and, while an advisor is joining or holds the conversation, polls
`/api/chat/updates`. Cross-origin embedding needs the embedding site's origin in
WIDGET_ALLOWED_ORIGINS (comma-separated) so the chat API answers its browser (CORS).
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, current_app, render_template, request, send_from_directory

from bot.config import get_settings

bp = Blueprint("widget", __name__)


@bp.get("/")
def demo_page():
    return render_template("widget_demo.html")


@bp.get("/embed")
def embed_page():
    """For site owners, kept off the elders' page: the one tag that embeds the widget."""
    return render_template("widget_embed.html")


@bp.get("/widget.js")
def widget_js():
    response = send_from_directory(
        os.path.join(current_app.static_folder, "widget"),
        "widget.js",
        mimetype="application/javascript",
        max_age=300,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def allowed_origins() -> set[str]:
    return set(get_settings().widget_allowed_origins)


# What the widget calls on its own origin: a turn, and the advisor's messages while live.
WIDGET_API_METHODS = {"/api/chat": "POST, OPTIONS", "/api/chat/updates": "GET, OPTIONS"}


def _cors(response):
    origin = request.headers.get("Origin", "").rstrip("/")
    methods = WIDGET_API_METHODS.get(request.path)
    if methods and origin and origin in allowed_origins():
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = methods
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        response.headers.add("Vary", "Origin")
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_cors)
