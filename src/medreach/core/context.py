"""Who and where a request comes from, for the audit log and logs (set once per request)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientInfo:
    ip: str = ""
    request_id: str = ""
    # The visitor said no to behaviour tracking (the tracker's X-Tracking-Opt-Out, Do Not Track, or Global
    # Privacy Control): server-side behaviour events are not recorded for this request.
    tracking_opt_out: bool = False


_OUTSIDE_A_REQUEST = ClientInfo()  # frozen: safe to share as the default
client_info: ContextVar[ClientInfo] = ContextVar("client_info", default=_OUTSIDE_A_REQUEST)
