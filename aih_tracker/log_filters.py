"""Logging filters (settings.LOGGING)."""

from __future__ import annotations

import logging
import re

# A request line as the development server logs it: "GET /patients/?q=Okafor HTTP/1.1".
_REQUEST_LINE = re.compile(r"^(?P<method>\S+) (?P<path>[^?\s]*)\?\S* (?P<protocol>HTTP/\S+)$")


class DropQueryString(logging.Filter):
    """Cut the query string from the request line of `django.server` (runserver) access records.

    The patient search is `GET /patients/?q=<name or MRN>`: without this, every search would write a
    patient's name or MRN into the log. gunicorn's access log has the same rule (gunicorn.conf.py).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            line = _REQUEST_LINE.sub(r"\g<method> \g<path> \g<protocol>", record.args[0])
            record.args = (line, *record.args[1:])
        return True
