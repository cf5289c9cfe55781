"""The ``mything`` command: Flask's command line for a mything app.

Installed as the ``mything`` script, and also ``python -m mything``. Its
commands are Flask's (``run``, ``routes``, ``shell``) and mything's own
(:mod:`mything.cli`); ``flask --app mything ...`` is the same command line.
The app is built from the ``MYTHING_*`` variables and the ``MYTHING_CONFIG``
file, as for gunicorn; a bad value is one line and exit status 1.
"""

from flask.cli import FlaskGroup

from .app import create_app

main = FlaskGroup(
    name="mything",
    create_app=create_app,
    help="Run and administer mything. Configure it with MYTHING_* variables.",
)

if __name__ == "__main__":
    main()
