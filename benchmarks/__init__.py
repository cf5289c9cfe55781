"""mything's benchmark suite: how fast it answers, next to its peers.

Run it from the top of the checkout, in an environment with the ``bench``
extra installed::

    python3 -m venv .venv
    .venv/bin/pip install -e '.[bench]'
    sudo apt-get install wrk            # the HTTP load generator
    .venv/bin/python -m benchmarks.run            # about 17 minutes
    .venv/bin/python -m benchmarks.run --quick    # about 4 minutes

It writes ``docs/performance.md`` and ``docs/performance.png``. The modules
are the sections of the report:

``inprocess``  time per request through each app's WSGI callable;
``serving``    requests per second under gunicorn, measured with wrk;
``depth``      the cost of a page of notes at the start and deep in a list;
``startup``    time and peak memory of a fresh interpreter building each app;
``report``     the tables, the markdown page and the chart.

``apps`` lists the contenders; ``peers/`` holds one small app per peer
framework, each exposing a WSGI ``app``.
"""
