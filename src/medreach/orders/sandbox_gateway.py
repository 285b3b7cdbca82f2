"""A sandbox payment gateway that behaves like a real one (the bank we cannot reach in tests and demos).

It is a separate ASGI app with its own SQLite file, mounted at /sandbox-gateway by default and reached
only over HTTP through `payments.SandboxProvider`, exactly as a real gateway would be. Its protocol:

- every request and notification carries `timestamp` and `sign` = hex HMAC-SHA256 of the canonical
  string (the other fields sorted by name, `k=v` joined by `&`, empty values left out) under the
  merchant's key;
- POST /v1/trades creates a trade and returns a cashier URL (`pay_url`) and a QR payload;
- the buyer pays on the cashier page; the gateway then POSTs a signed `trade.success` notification to
  the merchant's `notify_url`, retrying with back-off until the merchant answers `success`;
- GET /v1/trades/{out_trade_no} queries a trade; POST /v1/refunds refunds part or all of it.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

SIGN_TOLERANCE_SECONDS = 300
RETRY_DELAYS = (0, 1, 2, 4, 8, 16)

_meta = sa.MetaData()
trades = sa.Table(
    "trades",
    _meta,
    sa.Column("trade_no", sa.String(40), primary_key=True),
    sa.Column("merchant_id", sa.String(40), nullable=False),
    sa.Column("out_trade_no", sa.String(64), nullable=False),
    sa.Column("amount_fen", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("subject", sa.String(128), nullable=False),
    sa.Column("notify_url", sa.String(255), nullable=False),
    sa.Column("return_url", sa.String(255), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # WAIT_PAY | SUCCESS | CLOSED
    sa.Column("paid_at", sa.String(40)),
    sa.Column("refunded_fen", sa.Integer, nullable=False, default=0),
    sa.UniqueConstraint("merchant_id", "out_trade_no"),
)
refunds = sa.Table(
    "refunds",
    _meta,
    sa.Column("refund_no", sa.String(40), primary_key=True),
    sa.Column("merchant_id", sa.String(40), nullable=False),
    sa.Column("out_refund_no", sa.String(64), nullable=False),
    sa.Column("trade_no", sa.String(40), nullable=False),
    sa.Column("amount_fen", sa.Integer, nullable=False),
    sa.UniqueConstraint("merchant_id", "out_refund_no"),
)


def canonical(params: dict[str, Any]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, ""))


def sign(params: dict[str, Any], key: str) -> str:
    return hmac.new(key.encode(), canonical(params).encode(), hashlib.sha256).hexdigest()


def signed(params: dict[str, Any], key: str) -> dict[str, Any]:
    params = {**params, "timestamp": int(time.time())}
    return {**params, "sign": sign(params, key)}


def verify(params: dict[str, Any], key: str, now: float | None = None) -> bool:
    """A valid signature made within the tolerance window."""
    given = str(params.get("sign", ""))
    try:
        fresh = abs((now or time.time()) - int(params.get("timestamp", 0))) <= SIGN_TOLERANCE_SECONDS
    except (TypeError, ValueError):
        return False
    return fresh and hmac.compare_digest(given, sign(params, key))


async def _json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object; anything else (not JSON, a list, a number) reads as an empty one, which no
    signature check passes."""
    try:
        params = await request.json()
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def _positive_int(value: Any) -> int | None:
    """A whole amount above zero, given as a number or as digits (what a signed form carries)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    return int(text) if text.isdigit() and int(text) > 0 else None


def _texts(params: dict[str, Any], *names: str) -> bool:
    """Whether each named parameter is a non-empty string."""
    return all(isinstance(params.get(name), str) and params[name] for name in names)


class SandboxGateway:
    def __init__(
        self,
        db_path: Path,
        merchants: dict[str, str],
        public_url: str,
        deliver: Callable[[str, dict], bool] | None = None,
    ):
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(f"sqlite:///{db_path}", connect_args={"check_same_thread": False})
        _meta.create_all(self.engine)
        self.merchants, self.public_url = merchants, public_url.rstrip("/")
        self.deliver = deliver or self._deliver_with_retries
        self.app = self._build()

    # -- notifications ------------------------------------------------------------------------------
    def _post(self, url: str, payload: dict) -> bool:
        try:
            return httpx.post(url, json=payload, timeout=5).text.strip() == "success"
        except httpx.HTTPError:
            return False

    def _deliver_with_retries(self, url: str, payload: dict) -> bool:
        def run():
            for delay in RETRY_DELAYS:
                time.sleep(delay)
                if self._post(url, payload):
                    return

        threading.Thread(target=run, daemon=True, name="sandbox-gateway-notify").start()
        return True

    def notify_paid(self, trade: dict) -> None:
        key = self.merchants[trade["merchant_id"]]
        payload = signed(
            {
                "notify_id": uuid.uuid4().hex,
                "event": "trade.success",
                "merchant_id": trade["merchant_id"],
                "out_trade_no": trade["out_trade_no"],
                "trade_no": trade["trade_no"],
                "amount_fen": trade["amount_fen"],
                "currency": trade["currency"],
                "paid_at": trade["paid_at"],
            },
            key,
        )
        self.deliver(trade["notify_url"], payload)

    # -- the app ---------------------------------------------------------------------------------------
    def _trade(self, conn, **where) -> dict | None:
        q = sa.select(trades)
        for k, v in where.items():
            q = q.where(trades.c[k] == v)
        row = conn.execute(q).mappings().first()
        return dict(row) if row else None

    def _check(self, params: dict) -> str | None:
        key = self.merchants.get(str(params.get("merchant_id", "")))
        return key if key and verify(params, key) else None

    def _build(self) -> FastAPI:
        app = FastAPI(title="Sandbox payment gateway", openapi_url=None, docs_url=None, redoc_url=None)
        gw = self

        def fail(message: str, status: int = 400) -> JSONResponse:
            return JSONResponse({"code": "FAIL", "message": message}, status_code=status)

        @app.post("/v1/trades")
        async def create_trade(request: Request):
            params = await _json_object(request)
            key = gw._check(params)
            if not key:
                return fail("invalid signature", 401)
            amount = _positive_int(params.get("amount_fen"))
            if amount is None or params.get("currency") != "CNY" or not _texts(params, "out_trade_no", "notify_url"):
                return fail("invalid trade parameters")
            with gw.engine.begin() as conn:
                trade = gw._trade(conn, merchant_id=params["merchant_id"], out_trade_no=params["out_trade_no"])
                if trade and trade["amount_fen"] != amount:
                    return fail("out_trade_no already used with another amount", 409)
                if not trade:
                    trade = {
                        "trade_no": "SBX" + uuid.uuid4().hex[:20].upper(),
                        "merchant_id": params["merchant_id"],
                        "out_trade_no": params["out_trade_no"],
                        "amount_fen": amount,
                        "currency": "CNY",
                        "subject": str(params.get("subject", ""))[:128],
                        "notify_url": params["notify_url"],
                        "return_url": params.get("return_url", ""),
                        "status": "WAIT_PAY",
                        "paid_at": None,
                        "refunded_fen": 0,
                    }
                    conn.execute(trades.insert().values(**trade))
            pay_url = f"{gw.public_url}/cashier/{trade['trade_no']}"
            return signed(
                {
                    "code": "SUCCESS",
                    "trade_no": trade["trade_no"],
                    "pay_url": pay_url,
                    "qr_code": f"sandboxpay://pay?trade_no={trade['trade_no']}",
                },
                key,
            )

        @app.get("/v1/trades/{out_trade_no}")
        def query_trade(out_trade_no: str, request: Request):
            params = {**request.query_params, "out_trade_no": out_trade_no}
            key = gw._check(params)
            if not key:
                return fail("invalid signature", 401)
            with gw.engine.connect() as conn:
                trade = gw._trade(conn, merchant_id=params["merchant_id"], out_trade_no=out_trade_no)
            if not trade:
                return fail("trade not found", 404)
            return signed(
                {
                    "code": "SUCCESS",
                    **{
                        k: trade[k]
                        for k in (
                            "trade_no",
                            "out_trade_no",
                            "amount_fen",
                            "currency",
                            "status",
                            "paid_at",
                            "refunded_fen",
                        )
                    },
                },
                key,
            )

        @app.post("/v1/refunds")
        async def refund(request: Request):
            params = await _json_object(request)
            key = gw._check(params)
            if not key:
                return fail("invalid signature", 401)
            amount = _positive_int(params.get("amount_fen"))
            if amount is None or not _texts(params, "out_trade_no", "out_refund_no"):
                return fail("invalid refund parameters")
            with gw.engine.begin() as conn:
                trade = gw._trade(conn, merchant_id=params.get("merchant_id"), out_trade_no=params.get("out_trade_no"))
                if not trade or trade["status"] != "SUCCESS":
                    return fail("trade not paid", 409)
                done: Mapping[Any, Any] | None = (
                    conn.execute(
                        sa.select(refunds).where(
                            refunds.c.merchant_id == params["merchant_id"],
                            refunds.c.out_refund_no == params["out_refund_no"],
                        )
                    )
                    .mappings()
                    .first()
                )
                if done is None:
                    if trade["refunded_fen"] + amount > trade["amount_fen"]:
                        return fail("refund exceeds the paid amount", 409)
                    refund_no = "SBR" + uuid.uuid4().hex[:20].upper()
                    conn.execute(
                        refunds.insert().values(
                            refund_no=refund_no,
                            merchant_id=params["merchant_id"],
                            out_refund_no=params["out_refund_no"],
                            trade_no=trade["trade_no"],
                            amount_fen=amount,
                        )
                    )
                    conn.execute(
                        trades.update()
                        .where(trades.c.trade_no == trade["trade_no"])
                        .values(refunded_fen=trades.c.refunded_fen + amount)
                    )
                    done = {"refund_no": refund_no, "amount_fen": amount}
            return signed(
                {
                    "code": "SUCCESS",
                    "refund_no": done["refund_no"],
                    "out_refund_no": params["out_refund_no"],
                    "amount_fen": done["amount_fen"],
                },
                key,
            )

        @app.get("/cashier/{trade_no}", response_class=HTMLResponse)
        def cashier(trade_no: str):
            with gw.engine.connect() as conn:
                trade = gw._trade(conn, trade_no=trade_no)
            if not trade:
                return HTMLResponse("<p>trade not found</p>", status_code=404)
            done = trade["status"] != "WAIT_PAY"
            button = (
                ('<p data-testid="gateway-status">' + escape(trade["status"]) + "</p>")
                if done
                else (
                    f'<form method="post" action="{gw.public_url}/cashier/{trade_no}/pay">'
                    '<button data-testid="gateway-pay" type="submit">确认支付 Pay</button></form>'
                )
            )
            return HTMLResponse(
                f"""<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>沙箱收银台 Sandbox cashier</title>
<style>body{{font-family:sans-serif;max-width:420px;margin:40px auto;padding:0 16px;color:#1f2d3d}}
.amount{{font-size:32px;font-weight:bold}}button{{font-size:18px;padding:10px 28px;background:#1677ff;color:#fff;
border:0;border-radius:6px}}.qr{{font-family:monospace;font-size:12px;color:#8492a6;word-break:break-all}}</style>
<h2>沙箱收银台 · Sandbox cashier</h2><p>{escape(trade["subject"])}</p>
<p class="amount" data-testid="gateway-amount">¥{trade["amount_fen"] / 100:.2f}</p>
<p class="qr">扫码支付 QR: sandboxpay://pay?trade_no={escape(trade_no)}</p>{button}
<p><a href="{escape(trade["return_url"])}">返回商户 Back to the shop</a></p></html>"""
            )

        @app.post("/cashier/{trade_no}/pay")
        def pay(trade_no: str):
            now = datetime.now(UTC).isoformat()
            with gw.engine.begin() as conn:
                moved = conn.execute(
                    trades.update()
                    .where(trades.c.trade_no == trade_no, trades.c.status == "WAIT_PAY")
                    .values(status="SUCCESS", paid_at=now)
                ).rowcount
                trade = gw._trade(conn, trade_no=trade_no)
            if not trade:
                return HTMLResponse("<p>trade not found</p>", status_code=404)
            if moved:
                gw.notify_paid(trade)
            return RedirectResponse(trade["return_url"] or f"{gw.public_url}/cashier/{trade_no}", status_code=303)

        return app
