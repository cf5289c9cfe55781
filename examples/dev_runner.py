"""The development runner: one file that says how to build the app while you work.

Run it with Flask's command line::

    flask --app examples/dev_runner.py run --debug

Flask imports this file and serves ``app`` with its development server.
``--debug`` turns on the reloader, which restarts the server when a source
file changes. A change that breaks the code does not stop the runner: it
prints the error, and serves again once the fix is saved. mything still
answers every error as JSON, so the interactive debugger never appears in
the API's responses.

The settings here are for development only. Production serves
``mything:MyThing()`` with gunicorn instead (see ``gunicorn.conf.py``); the
development server and its reloader are never deployed.
"""

import tempfile
from pathlib import Path

from mything import create_app

# A database of its own, in the temporary directory, never the real one.
DATABASE = Path(tempfile.gettempdir()) / "mything-dev.db"

app = create_app({"DATABASE_URI": f"sqlite:///{DATABASE}"})
