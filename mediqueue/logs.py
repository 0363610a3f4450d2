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
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)
