"""mything: an embeddable JSON API component for Python WSGI hosts.

::

    from mything import MyThing

    thing = MyThing({"DATABASE_URI": "sqlite:///app.db"})   # a WSGI app

Mount it under a prefix with Werkzeug's ``DispatcherMiddleware``, serve it
alone with ``gunicorn 'mything:MyThing()'``, or call it from Python with
``thing.as_user("alice").create_note(...)``. Only the names in ``__all__``
are public; everything else may change between releases.
"""

import importlib.metadata

from .app import create_app
from .errors import ApiException, ConfigError
from .signals import event_committed, event_recorded
from .thing import MyThing

#: The installed release (from the package metadata, set in pyproject.toml).
__version__ = importlib.metadata.version("mything")

__all__ = [
    "ApiException",
    "ConfigError",
    "MyThing",
    "__version__",
    "create_app",
    "event_committed",
    "event_recorded",
]
