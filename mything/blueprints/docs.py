"""``/docs``: the interactive API docs page, Swagger UI served from the package.

The page is a small HTML document that loads Swagger UI from
``/docs/assets/`` and points it at ``/openapi.json``. Every URL in it comes
from :func:`~flask.url_for`, which includes the prefix mything is mounted
under (the WSGI ``SCRIPT_NAME``), so the same page works at ``/docs`` when
mything runs alone and at ``/api/docs`` inside a host application.

Swagger UI's files are vendored in ``mything/static/swagger-ui/`` and
checked against their manifest by ``scripts/fetch_swagger_ui.py``. Nothing
comes from a CDN: the docs work offline, and the page runs no code that a
third-party server could change. Nor is there an inline script (``docs.js``
reads the document's URL from a ``data-`` attribute), which is what lets the
page carry a strict Content-Security-Policy.

These are mything's only responses that are not JSON, so they are left out
of the OpenAPI document, and they are never rate limited: a page load is a
burst of requests. With ``DOCS_ENABLED`` set to false the blueprint is not
registered, and its URLs answer the usual JSON 404.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template_string,
    send_from_directory,
    url_for,
)

from ..endpoints import public, undocumented

blueprint = Blueprint("docs", __name__)

#: The setting that decides whether an app registers this blueprint.
ENABLED_BY = "DOCS_ENABLED"

#: The directory of the files the page loads, inside the installed package.
STATIC_FOLDER = Path(__file__).resolve().parent.parent / "static"

#: How long browsers may keep an asset without asking again. A day, not a
#: year, because the URLs stay the same when an upgrade changes the files.
ASSET_MAX_AGE = 24 * 60 * 60

#: Scripts, styles, images and requests from this origin only. Swagger UI
#: draws its icons as ``data:`` images.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)

PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>API docs</title>
  <link rel="stylesheet" href="{{ asset('swagger-ui/swagger-ui.css') }}">
  <link rel="icon" type="image/png" href="{{ asset('swagger-ui/favicon-32x32.png') }}">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{{ openapi_url }}"></div>
  <script src="{{ asset('swagger-ui/swagger-ui-bundle.js') }}"></script>
  <script src="{{ asset('docs.js') }}"></script>
</body>
</html>
"""


@blueprint.get("/docs")
@public
@undocumented
def docs_page() -> Response:
    """Return the HTML page that runs Swagger UI on mything's OpenAPI document."""
    html = render_template_string(
        PAGE, asset=asset_url, openapi_url=url_for("openapi.openapi_document")
    )
    return current_app.response_class(
        html,
        mimetype="text/html",
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
    )


@blueprint.get("/docs/assets/<path:filename>")
@public
@undocumented
def asset(filename: str) -> Response:
    """Send one of the files the docs page loads."""
    return send_from_directory(STATIC_FOLDER, filename, max_age=ASSET_MAX_AGE)


def asset_url(filename: str) -> str:
    """Return the URL of an asset, below the prefix mything is mounted under."""
    return url_for("docs.asset", filename=filename)
