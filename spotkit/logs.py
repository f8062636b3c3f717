"""spotkit's logger, and a filter that scrubs secrets from anything that reaches a handler.

Code never passes a token, code, verifier or secret to a log call in the first place; the filter is
the second line of defence for text that comes from elsewhere (an URL with a query, a body).
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "enable_debug_logging", "logger", "redact"]

logger = logging.getLogger("spotkit")
# a library never prints through Python's last-resort handler: a warning from a background
# thread would otherwise land in whatever notebook cell happens to be running
logger.addHandler(logging.NullHandler())

_SECRET_PARAMS = ("access_token", "refresh_token", "code", "code_verifier", "client_secret",
                  "state", "id_token", "token")
_QUERY = re.compile(r"(?i)\b(" + "|".join(_SECRET_PARAMS) + r")=([^&\s\"']+)")
_JSON = re.compile(r"(?i)\"(" + "|".join(_SECRET_PARAMS) + r")\"\s*:\s*\"[^\"]*\"")
_AUTH_HEADER = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """`text` with secret query parameters, JSON fields and Authorization values replaced by ***."""
    text = _QUERY.sub(r"\1=***", text)
    text = _JSON.sub(r'"\1": "***"', text)
    return _AUTH_HEADER.sub(r"\1 ***", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with :func:`redact` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def enable_debug_logging(level: int = logging.DEBUG) -> logging.Handler:
    """Send spotkit's (and urllib3's) log to stderr at `level`, through the redacting filter."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    for name in ("spotkit", "urllib3"):
        log = logging.getLogger(name)
        log.setLevel(level)
        log.addHandler(handler)
    return handler
