"""One module per contender, each exposing a WSGI ``app`` that serves ``/add``.

``GET /add?a=1&b=2`` and ``POST /add`` with ``{"a": 1, "b": 2}`` both answer
``{"sum": 3}``; a missing or non-integer operand is a 400. Each module
writes the endpoint the way its framework's documentation teaches, with
its own validation and JSON, so the comparison is of idiomatic code.

The modules are imported by gunicorn (``benchmarks.peers.falcon_app:app``)
and by a fresh interpreter for the start-up measurements, so they import
nothing from the rest of the suite.
"""
