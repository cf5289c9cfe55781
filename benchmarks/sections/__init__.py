"""The sections of ``docs/performance.md``, one module each, run by ``benchmarks.run``.

``inprocess``  time per request through each app's WSGI callable (``/add``
               against bare Flask and the contract by hand, and mything's own);
``serving``    requests per second under gunicorn, measured with wrk (``http``);
``depth``      the cost of a page of notes at the start and deep in a list;
``startup``    time and peak memory of a fresh interpreter building each app;
``notes``      mything's notes endpoints against the same written by hand;
``webhooks``   deliveries per second of ``mything deliver`` workers, and the
               lag of a burst of events;
``client``     what ``mything.Client`` adds to a call made with bare httpx.

Each has a ``run`` that returns a JSON-ready dict; :mod:`benchmarks.report`
turns it into a table.
"""
