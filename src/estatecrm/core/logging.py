"""Logging filters named in settings.LOGGING."""

import logging


class RefusalWithoutTraceback(logging.Filter):
    """A 403 is the access rules doing their job, not a fault: django.request logs it as one WARNING line.

    Django attaches the PermissionDenied as exc_info, which would print a traceback for every refused
    click; the line keeps the path and the status, the traceback goes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
