"""A host application with mything mounted under ``/api``, for the docs tests.

gunicorn imports it by name (``gunicorn helpers.docs_host:app``, run in
``tests/``); mything reads its database from the ``MYTHING_DATABASE_URI``
environment variable, as it would in any deployment.
"""

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from mything import MyThing

host = Flask(__name__)


@host.get("/")
def home() -> str:
    return "The host application's own page."


app = DispatcherMiddleware(host, {"/api": MyThing()})
