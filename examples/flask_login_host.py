"""A Flask host whose users log in with Flask-Login, and use mything as themselves.

The host has its own login (Flask-Login, a session cookie). mything, mounted
under ``/api``, trusts the host to say who is calling: with
``TRUST_REMOTE_USER`` on, :class:`LoggedInUser` reads the host's session and
puts the user's id in the WSGI ``REMOTE_USER`` before mything runs::

    POST /login             the host's login form (name, password)
    GET  /                  the host's page, greeting the user
    GET  /api/me            mything, as the logged-in user: {"name": "Carol", ...}

How it reads the user matters. Opening the host's *request* context around
mything's request would run the host's ``before_request``, ``after_request``
and ``teardown_request`` hooks on every ``/api`` request, as if it were a
page of the host (and Flask-Login would write the session again). The
middleware does what Flask-Login does, with the host's own parts and none of
its request hooks: the host's session interface opens the session cookie,
and the host's user loader runs in an app context of the host (so that a
database session it uses is released by the host's own teardown).

Bearer tokens keep working beside it: a client that sends one is that
token's user, whatever the session says, and a failing token is a 401.

Run it with Werkzeug's development server, or with gunicorn::

    python examples/flask_login_host.py             # http://127.0.0.1:5000/
    gunicorn --chdir examples flask_login_host:app

The users and their passwords below are the example's own; a real host has
its own user store, and its own ``SECRET_KEY`` from its configuration.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from flask import Flask, redirect, request
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import run_simple

from mything import MyThing

#: The host's users: names as the host writes them, and their passwords.
USERS = {"Carol": "carol-secret", "dave@example.com": "dave-secret"}

app = Flask(__name__)
# Every process that serves the host must sign sessions with the same key:
# set HOST_SECRET_KEY when there are several (gunicorn --workers 2).
app.secret_key = os.environ.get("HOST_SECRET_KEY") or secrets.token_hex(32)
login_manager = LoginManager(app)


class User(UserMixin):
    def __init__(self, name: str) -> None:
        self.id = name


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return User(user_id) if user_id in USERS else None


@app.get("/")
def index() -> str:
    if current_user.is_authenticated:
        return f"<h1>Hello, {current_user.id}</h1><p>Your API: /api/me</p>"
    return (
        "<h1>The host</h1><form method=post action=/login>"
        "<input name=name> <input name=password type=password> <button>Log in</button>"
        "</form>"
    )


@app.post("/login")
def login() -> Any:
    name = request.form.get("name", "")
    if USERS.get(name) != request.form.get("password"):
        return "<h1>Wrong name or password</h1>", 401
    login_user(User(name))
    return redirect("/")


@app.post("/logout")
def logout() -> Any:
    logout_user()
    return redirect("/")


class LoggedInUser:
    """WSGI middleware: set ``REMOTE_USER`` to the host's logged-in user, if any."""

    def __init__(self, host: Flask, api: Any) -> None:
        self.host = host
        self.api = api

    def __call__(self, environ: dict, start_response: Any) -> Any:
        # Only this middleware may say who is calling.
        environ.pop("REMOTE_USER", None)
        name = logged_in_user(self.host, environ)
        if name is not None:
            environ["REMOTE_USER"] = name
        return self.api(environ, start_response)


def logged_in_user(host: Flask, environ: dict) -> str | None:
    """Return the id of the user logged in to ``host`` by this request's session.

    Flask-Login keeps it in the session as ``_user_id``. The body is not read.
    """
    with host.app_context():
        session = host.session_interface.open_session(host, host.request_class(environ))
        user_id = session.get("_user_id") if session is not None else None
        user = load_user(user_id) if user_id is not None else None
    if user is None or not user.is_active:
        return None
    name: str = user.get_id()
    return name


api = MyThing({"TRUST_REMOTE_USER": True})
app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
    app.wsgi_app, {"/api": LoggedInUser(app, api)}
)

if __name__ == "__main__":
    run_simple("127.0.0.1", 5000, app, use_reloader=True)
