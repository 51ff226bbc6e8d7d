"""Credentials in URLs (`https://user:password@host/…`) are kept only where the download needs them.

Everything shown or logged goes through `redact_url`: the API, pages, step errors and log lines.
"""

from __future__ import annotations

import logging
import re
from typing import overload

# scheme://userinfo@ — userinfo runs to the last "@" before the path, so a password holding "@" is covered.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#]*@")
HIDDEN = "***"


@overload
def redact_url(text: str) -> str: ...
@overload
def redact_url(text: None) -> None: ...
def redact_url(text: str | None) -> str | None:
    """`text` with the user name and password of every URL in it replaced by ***."""
    if not text:
        return text
    return _USERINFO.sub(rf"\g<1>{HIDDEN}@", text)


class RedactingFilter(logging.Filter):
    """Rewrites log records so no credential from a URL reaches a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_url(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redact_logs(logger: logging.Logger | None = None) -> None:
    """Install the filter on every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(item, RedactingFilter) for item in handler.filters):
            handler.addFilter(RedactingFilter())
