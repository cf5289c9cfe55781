"""A Django project with mything mounted under ``/api``, served by gunicorn.

The whole project is this file: its settings, its two pages (a home page and
a login form) and its WSGI application. Werkzeug's ``DispatcherMiddleware``
sends every request whose path starts with ``/api`` to mything, and every
other request to Django's own WSGI handler::

    GET  /                  Django: the home page, greeting the user
    GET  /login/            Django: the login form (POST logs in)
    GET  /api/me            mything, as the user logged in to Django
    GET  /api/nope          mything's JSON 404

Requests to ``/api`` never reach Django's middleware, so two things Django
did for them must be said to mything:

- *Who is calling.* :class:`DjangoUser` reads the user of the Django session
  as Django's ``AuthenticationMiddleware`` would (``django.contrib.auth.get_user``,
  which also checks the session against the user's password), and sets the
  WSGI ``REMOTE_USER`` that mything trusts with ``TRUST_REMOTE_USER``.
  Bearer tokens keep working beside it.
- *Which hosts are ours.* Django refuses a ``Host`` outside
  ``ALLOWED_HOSTS``; mything gets the same list as ``TRUSTED_HOSTS``, so it
  never writes a foreign host into its URLs (Werkzeug matches them as Django
  does for plain names; it has no ``*``).

Run it (``pip install mything django``)::

    python examples/django_host.py migrate          # Django's own tables
    python examples/django_host.py createsuperuser
    gunicorn --chdir examples django_host:application

Importing this module creates no file: Django and mything both open their
databases on first use.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret"),
    ALLOWED_HOSTS=["localhost", "127.0.0.1"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        # Among other things, refuses a Host outside ALLOWED_HOSTS (400).
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("DJANGO_DATABASE", "django-host.db"),
        }
    },
    USE_TZ=True,
)
django.setup()

from django.contrib import auth  # noqa: E402 (after settings, as Django needs)
from django.core.handlers.wsgi import WSGIRequest  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import close_old_connections  # noqa: E402
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.urls import path  # noqa: E402
from werkzeug.middleware.dispatcher import DispatcherMiddleware  # noqa: E402

from mything import MyThing  # noqa: E402


def index(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponse(f"<h1>Hello, {request.user.get_username()}</h1>")
    return HttpResponse("<h1>The host</h1><p><a href='/login/'>Log in</a></p>")


def login(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        user = auth.authenticate(
            request,
            username=request.POST.get("username"),
            password=request.POST.get("password"),
        )
        if user is not None:
            auth.login(request, user)
            return HttpResponseRedirect("/")
    return HttpResponse(
        "<form method=post>"
        f"<input type=hidden name=csrfmiddlewaretoken value='{get_token(request)}'>"
        "<input name=username> <input name=password type=password>"
        " <button>Log in</button></form>",
        status=401 if request.method == "POST" else 200,
    )


urlpatterns = [path("", index), path("login/", login)]


class DjangoUser:
    """WSGI middleware: set ``REMOTE_USER`` to the user logged in to Django."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def __call__(self, environ: dict, start_response: Any) -> Any:
        # Only this middleware may say who is calling.
        environ.pop("REMOTE_USER", None)
        name = django_user(environ)
        if name is not None:
            environ["REMOTE_USER"] = name
        return self.api(environ, start_response)


def django_user(environ: dict) -> str | None:
    """Return the name of the user this request's Django session belongs to.

    No Django middleware or signal runs, and the body is not read; the
    database connection is closed as Django closes it after a request.
    """
    request = WSGIRequest(environ)
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(
        request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    )
    try:
        user = auth.get_user(request)
    finally:
        close_old_connections()
    if not user.is_authenticated or not user.is_active:
        return None
    name: str = user.get_username()
    return name


api = MyThing({"TRUST_REMOTE_USER": True, "TRUSTED_HOSTS": settings.ALLOWED_HOSTS})
application = DispatcherMiddleware(get_wsgi_application(), {"/api": DjangoUser(api)})

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
