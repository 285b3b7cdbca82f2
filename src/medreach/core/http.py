"""What every HTTP exchange gets besides its route: a bound on how deeply a request body may nest, and the
security headers of every response.

Nesting: a JSON parser (Python's, orjson, pydantic) and the code that walks a parsed value recurse once per
level, so a body of 1,500 nested arrays ends in a RecursionError (a 500) or a serializer's own limit.
No request of ours nests more than a handful of levels; anything deeper than `limit` is refused as a 400
`BODY_TOO_DEEP` before any parser sees it. The check reads only the body's structure characters, with a
few C-speed byte operations, and costs about half an orjson parse of the same bytes.
"""

from __future__ import annotations

import re

from medreach.core.errors import AppError

# Everything except the characters that make a JSON document's structure (dropped), and objects' braces read
# as brackets: only the depth matters, not which kind of container it is.
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")
_QUOTED = re.compile(rb'"[^"]*"')


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether the JSON text `body` nests arrays and objects more than `limit` levels deep (brackets inside
    strings do not count). Not a validator: a malformed body that is shallow is left to the parser."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    if b"\\" in body:  # escapes occur only inside strings: drop escaped backslashes, then escaped quotes
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = body.translate(_BRACES_AS_BRACKETS, _NOT_STRUCTURE)  # only brackets and quotes, e.g. [""[""[""""]]]
    marks = marks.replace(b'""', b"")  # strings without brackets; two strings may merge, none is split
    if b'"' in marks:
        marks = _QUOTED.sub(b"", marks)  # strings that held brackets
    if not marks:  # every bracket was inside a string
        return False
    # Now only brackets: each pass removes the innermost pairs (replace does not look again at what it joined),
    # so a body of depth d is empty after d passes.
    for passes in range(limit):
        shorter = marks.replace(b"[]", b"")
        if not shorter:
            return False
        if len(shorter) == len(marks):  # unbalanced (not JSON): as deep as the brackets still open
            return passes + len(shorter) > limit
        marks = shorter
    return True


def check_json_depth(body: bytes, limit: int) -> None:
    """Raise the 400 for a body nested deeper than `limit` (for bodies a route unpacks itself, e.g. gzip)."""
    if json_too_deep(body, limit):
        raise AppError(400, "BODY_TOO_DEEP", limit=limit)


# --- security headers ---------------------------------------------------------------------------------------

# The built single-page app loads only its own scripts, styles, images and fonts and talks only to its own
# origin. Element Plus and ECharts set style attributes, so inline styles are allowed (scripts never are).
APP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
# FastAPI's interactive docs (/docs, /redoc) load Swagger UI and ReDoc from their CDN with an inline start-up.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; font-src 'self' data: "
    "https://fonts.gstatic.com; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000"


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


class SecurityHeaders:
    """The headers added to every response, encoded once. HSTS only over HTTPS: the request came in over TLS,
    or the public address is https (a TLS-terminating proxy in front)."""

    def __init__(self, public_https: bool = False) -> None:
        common = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}
        common["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate it
        self.public_https = public_https
        self.app = _encoded({"Content-Security-Policy": APP_POLICY, **common})
        self.docs = _encoded({"Content-Security-Policy": DOCS_POLICY, **common})
        self.hsts = _encoded({"Strict-Transport-Security": HSTS})

    def for_request(self, path: str, scheme: str) -> list[tuple[bytes, bytes]]:
        headers = self.docs if path.startswith(DOCS_PATHS) else self.app
        return headers + self.hsts if scheme == "https" or self.public_https else headers
