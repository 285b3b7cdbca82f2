from datetime import UTC, datetime, timedelta

import pytest


def window(hours_before: float = 1, hours_after: float = 24) -> dict:
    now = datetime.now(UTC)
    return {"starts_at": (now - timedelta(hours=hours_before)).isoformat(),
            "ends_at": (now + timedelta(hours=hours_after)).isoformat()}


@pytest.fixture
def promo_staff(staff):
    """(marketer headers, reviewer headers): editing and approving are separate permissions and people."""
    _, marketer = staff("marketer")
    _, reviewer = staff("admin")
    return marketer, reviewer


@pytest.fixture
def publish(client, promo_staff):
    """Create, submit and approve a promotion; returns its JSON."""
    marketer, reviewer = promo_staff

    def make(kind: str, rules: dict, scope: dict | None = None, **extra):
        body = {"name": f"{kind} test", "kind": kind, "rules": rules, "scope": scope or {}, **window(), **extra}
        r = client.post("/api/v1/admin/promotions", headers=marketer, json=body)
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        assert client.post(f"/api/v1/admin/promotions/{pid}/actions", headers=marketer,
                           json={"action": "submit"}).status_code == 200
        r = client.post(f"/api/v1/admin/promotions/{pid}/review", headers=reviewer, json={"decision": "approve"})
        assert r.status_code == 200 and r.json()["state"] in ("running", "scheduled"), r.text
        return r.json()

    return make


@pytest.fixture
def coupon(client, promo_staff):
    marketer, reviewer = promo_staff

    def make(**fields):
        body = {"name": "满50减10", "kind": "amount_off", "amount_off_fen": 1000, "min_spend_fen": 5000,
                "valid_from": window()["starts_at"], "valid_to": window()["ends_at"], **fields}
        r = client.post("/api/v1/admin/coupons", headers=marketer, json=body)
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        client.post(f"/api/v1/admin/coupons/{cid}/actions", headers=marketer, json={"action": "submit"})
        r = client.post(f"/api/v1/admin/coupons/{cid}/review", headers=reviewer, json={"decision": "approve"})
        assert r.json()["status"] == "running", r.text
        return r.json()

    return make
