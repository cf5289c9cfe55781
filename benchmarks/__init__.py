"""mything's benchmark suite: how fast it answers, next to its peers.

Run it from the top of the checkout, in an environment with the ``bench``
extra installed::

    python3 -m venv .venv
    .venv/bin/pip install -e '.[bench]'
    sudo apt-get install wrk            # the HTTP load generator
    .venv/bin/python -m benchmarks.run            # about 17 minutes
    .venv/bin/python -m benchmarks.run --quick    # shorter rounds

It writes ``docs/performance.md`` and ``docs/performance.png``. The suite
is laid out by role:

``run``        the command: runs the sections, prints and writes the report;
``profile``    where one ``/add`` spends its time, next to bare Flask;
``sections/``  what is measured, one module per section of the report;
``harness/``   how: settings, timing, servers, interpreters, databases, data;
``report/``    the tables, the Markdown page and the chart;
``peers/``     the apps mything is compared with, one module each;
``soak/``      apart from the rest: a soak test under gunicorn for minutes
               (``python -m benchmarks.soak``);
``findings.md``  what each measured speed trick saves, one anchor per trick.
"""
