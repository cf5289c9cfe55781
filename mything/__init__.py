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
import typing

from .app import create_app
from .errors import ApiException, ConfigError, WebhookVerificationError
from .signals import event_committed, event_recorded
from .signatures import verify_webhook
from .thing import MyThing

if typing.TYPE_CHECKING:
    from .client import Client

#: The installed release (from the package metadata, set in pyproject.toml).
__version__ = importlib.metadata.version("mything")

__all__ = [
    "ApiException",
    "Client",
    "ConfigError",
    "MyThing",
    "WebhookVerificationError",
    "__version__",
    "create_app",
    "event_committed",
    "event_recorded",
    "verify_webhook",
]


def __getattr__(name: str) -> typing.Any:
    # The client needs httpx (``mything[client]``), which serving does not:
    # it is imported when first asked for, so that ``import mything`` works
    # without httpx and ``mything.Client`` says which extra to install.
    if name == "Client":
        from .client import Client

        return Client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
