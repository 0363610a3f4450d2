"""gunicorn's own log lines (its access log, its error log) without booking references.

gunicorn logs through handlers of its own, outside Django's LOGGING: this logger class
(``logger_class`` in mediqueue/gunicorn.conf.py) puts the same filter on them as Django's
(mediqueue.redaction), so an access-log line reads ``POST /bookings/[reference]/cancel``.
"""

from gunicorn import glogging

from mediqueue.redaction import RedactReferences


class RedactingLogger(glogging.Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.addFilter(RedactReferences())
