"""A soak test: mything under steady mixed load for minutes, watched for leaks.

It serves mything as in production -- gunicorn with four sync workers,
PostgreSQL, rate limits counted in Redis -- and keeps it busy from client
threads on loopback: 70% reads (a page of notes, one note), 20% new notes,
10% edits. It then reports how many requests were served, every error by
status, latency percentiles, and the resident memory (``VmRSS``) of each
worker at the start, every 30 seconds and at the end, so that a worker
whose memory keeps growing shows up.

Run it from the top of the checkout, where mything is installed::

    python -m benchmarks.soak --report soak.md               # 300 s
    python -m benchmarks.soak --seconds 60 --threads 4 --report soak.md
    python -m benchmarks.soak --database-uri postgresql+psycopg://db/soak \\
        --redis redis://cache:6379 --report soak.md

Without ``--database-uri`` it makes a fresh schema in the ``test``
database of the local PostgreSQL and drops it afterwards; with one, it uses
that database as it is (and leaves its data). Rate limit counters go to
Redis under a key prefix of their own, deleted afterwards. The run stops
after ``--seconds`` or ``--max-requests``, whichever comes first, or on
Ctrl-C; gunicorn is stopped by its process group in every case. The exit
status is 0 when every request succeeded and 1 otherwise.

This is not part of the test suite (``tests/test_soak_smoke.py`` only runs
it for a few seconds to keep it working). The client shares the machine
with the server, so its figures are for comparing runs on one machine, not
for capacity planning.

The tool is four modules, read in this order: ``server`` serves mything
under gunicorn, ``load`` is the client threads and their tally, ``memory``
samples the workers' resident memory, and ``report`` writes the Markdown;
``__main__`` ties them together. It shares nothing with the benchmark
suite (``python -m benchmarks.run``) but two helpers of its harness: the
scratch PostgreSQL schema and the release of a ``MyThing``'s connections.
"""
