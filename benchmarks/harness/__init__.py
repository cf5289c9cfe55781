"""What runs and times the apps, so that each section only says what it measures.

``settings``      how long a run measures: full, ``--quick``, ``--smoke``;
``contenders``    the apps that serve ``/add``: mything and its peers;
``tenant``        mything with a user, a token and notes, made through its
                  Python API (and the one place that goes past it, with why);
``wsgi``          calling a WSGI app as a server would, and timing it;
``servers``       gunicorn serving an app, wrk loading it;
``workers``       ``mything deliver`` worker processes;
``receiver``      a webhook receiver on loopback, in a process of its own;
``interpreters``  fresh interpreters: their start-up time and peak memory;
``databases``     scratch SQLite, PostgreSQL and MySQL databases;
``stats``         medians and paired ratios;
``environment``   the machine and the versions a result depends on.
"""
