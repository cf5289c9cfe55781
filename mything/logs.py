"""mything's loggers: what it adds to them, and a JSON formatter for its records.

mything is a library inside someone else's process, so it follows Python's
rule for libraries: it logs to its own loggers and leaves every decision
about where records go to the application. It adds exactly two things, both
to loggers it owns:

- a :class:`logging.NullHandler` on ``mything``, so that an application that
  configures no logging sees no "last resort" output, and Flask does not
  attach its own stream handler to the app's logger (also ``mything``);
- the filter :func:`add_request_id` on each of :data:`LOGGER_NAMES`, so that
  every record mything logs during a request carries ``record.request_id``.

The root logger, its level and handlers, and every other library's logger
are never touched. An application that wants one JSON object per line uses
:class:`JSONFormatter` in its own logging configuration::

    handler = logging.StreamHandler()
    handler.setFormatter(mything.logs.JSONFormatter())
    logging.getLogger("mything").addHandler(handler)
    logging.getLogger("mything").setLevel(logging.INFO)

(``examples/gunicorn.conf.py`` does the same for gunicorn's own logs too.)
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from flask import has_request_context, request

from .requestid import request_id

#: Every logger mything logs to. A filter applies only to records logged on
#: its own logger, not to those its children pass up, so each one gets it.
LOGGER_NAMES = ("mything", "mything.access", "mything.db")

# The attributes every LogRecord has; anything else was added by ``extra=``
# or a filter, and is a field of its own in the JSON object.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
}


def add_request_id(record: logging.LogRecord) -> bool:
    """Give ``record`` the id of the request being answered, or ``None``.

    A record that already has a ``request_id`` (an access record) keeps it.
    The first of the request's records chooses the id, if the access log
    has not chosen it yet; the response's ``X-Request-ID`` is the same.
    """
    if not hasattr(record, "request_id"):
        record.request_id = (
            request_id(request.environ) if has_request_context() else None
        )
    return True


def prepare_loggers() -> None:
    """Add the NullHandler and the request id filter to mything's loggers.

    Safe to call again: nothing is added twice.
    """
    package_logger = logging.getLogger(LOGGER_NAMES[0])
    if not any(isinstance(h, logging.NullHandler) for h in package_logger.handlers):
        package_logger.addHandler(logging.NullHandler())
    for name in LOGGER_NAMES:
        # addFilter ignores a filter the logger already has.
        logging.getLogger(name).addFilter(add_request_id)


class JSONFormatter(logging.Formatter):
    """Format each record as one JSON object on one line.

    The object has ``time`` (ISO 8601, UTC), ``level``, ``logger``,
    ``process`` and ``message``, then every attribute added to the record
    (the access record's ``method``, ``route``, ``status``...), then
    ``exc_info`` and ``stack_info`` when present. :func:`json.dumps` escapes
    quotes, newlines and every non-ASCII character, so no value, however
    hostile, can break the line or forge another one. Values that are not
    JSON types are written as their ``str()``.
    """

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES:
                fields[key] = value
        if record.exc_info:
            fields["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            fields["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(fields, default=str)
