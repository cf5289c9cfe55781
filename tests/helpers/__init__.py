"""What mything's tests share that is not a fixture, one idea a module.

Fixtures and hooks live in ``conftest.py``; a test imports everything else
from here, by module (``from helpers.databases import ALL_DATABASES``):

``databases``
    The backends a test can run on, throwaway PostgreSQL schemas and MySQL
    databases, and ``stored_rows`` to show that a request changed nothing.
``callers``
    ``make_caller``: a user with a token, as the plugin's ``mything_user`` is.
``services``
    ``unavailable``: skip a test whose outside service is missing.
``browser``
    A headless Chromium, for the tests that need a real browser.
``processes``
    Real gunicorn processes on loopback.
``pg_cluster``, ``netns``, ``redis_server``
    Private PostgreSQL and Redis servers that a test may stop, restart or cut
    off the network.
``docs_host``
    A host application with mything mounted under ``/api``, served by gunicorn.
"""
