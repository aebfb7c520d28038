"""Keep credentials out of logs, artifacts and error messages."""

from __future__ import annotations

import re

# scheme://user:password@ — the password runs to the first "@" (as SQLAlchemy reads it), so "/"
# and ":" in it are masked too; in free text it stops at white space.
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@"
)
# a single URL may even hold an unencoded space in its password
_ONE_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@]*)@"
)
# libpq keyword strings and URL query parameters: password=secret, ?password=secret&...
_KEYWORD_PASSWORD = re.compile(
    r"(?i)(?P<key>\b(?:password|passwd|pwd)\s*=\s*)(?P<pw>'[^']*'|\"[^\"]*\"|[^\s&;,'\"]+)"
)


def _mask_keywords(text: str) -> str:
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m['key']}***", text)


def mask_url(url: str | None) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db``."""
    if not url:
        return ""
    masked = _ONE_URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url, count=1)
    return _mask_keywords(masked)


def mask_text(text: str) -> str:
    """Mask every URL-embedded password in a free text (log lines, exception messages)."""
    return _mask_keywords(_URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text))
