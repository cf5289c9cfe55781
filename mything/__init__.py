"""mything: an embeddable JSON API component for Python WSGI hosts.

::

    from mything import MyThing

    thing = MyThing({"DATABASE_URI": "sqlite:///app.db"})   # a WSGI app

Mount it under a prefix with Werkzeug's ``DispatcherMiddleware``, serve it
alone with ``gunicorn 'mything:MyThing()'``, or call it from Python with
``thing.as_user("alice").create_note(...)``. Only the names in ``__all__``
are public; everything else may change between releases.
"""

# Set before the imports below: modules of the package read it.
__version__ = "0.1.0"

from .app import create_app  # noqa: E402
from .errors import ApiException, ConfigError  # noqa: E402
from .thing import MyThing  # noqa: E402

__all__ = [
    "ApiException",
    "ConfigError",
    "MyThing",
    "__version__",
    "create_app",
]
