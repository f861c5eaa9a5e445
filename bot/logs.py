"""Logging set-up: one line per event, and never a secret in a log line."""

from __future__ import annotations

import logging
import re
import sys

_KEY_RE = re.compile(r"(key=)[^&\s'\"]+")


class RedactSecrets(logging.Filter):
    """Replaces configured secrets and any `key=` query value with *** in every record."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def redact(self, text: str) -> str:
        clean = _KEY_RE.sub(r"\1***", text)
        for secret in self.secrets:
            if secret in clean:
                clean = clean.replace(secret, "***")
        return clean

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if record.exc_info:
            msg = msg + "\n" + _FORMATTER.formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        clean = self.redact(msg)
        if clean != record.msg or record.args:
            record.msg, record.args = clean, None
        return True


_FORMATTER = logging.Formatter()
_FILTER = RedactSecrets()


def install_redaction(secrets: list[str]) -> None:
    _FILTER.secrets.update(s for s in secrets if s and len(s) >= 6)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
