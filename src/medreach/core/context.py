"""Who and where a request comes from, for the audit log and logs (set once per request)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientInfo:
    ip: str = ""
    request_id: str = ""


client_info: ContextVar[ClientInfo] = ContextVar("client_info", default=ClientInfo())
