"""Issue 12.9: registration accepts the user agreement and the privacy policy (versioned documents served by the
API, both languages) and records which versions were accepted and when; the optional purposes are separate,
explained and off until the customer turns them on, and the choices made on the form go into the consent ledger."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from medreach.accounts import legal
from medreach.accounts.consents import PURPOSES
from medreach.accounts.models import AgreementAcceptance, Consent, User
from tests.conftest import AGREEMENTS, PASSWORD, bearer, problem_code

PHONE = "13800138010"
OPTIONAL = ("personalization", "marketing_sms", "marketing_email", "health_profile")


def sign_up(client, **extra):
    return client.post("/api/v1/auth/register", json={"phone": PHONE, "password": PASSWORD, **extra})


def test_the_documents_exist_in_both_languages_with_their_versions(client):
    listed = client.get("/api/v1/legal/documents").json()
    assert {d["name"]: d["version"] for d in listed} == AGREEMENTS
    for name in AGREEMENTS:
        doc = client.get(f"/api/v1/legal/documents/{name}").json()
        assert doc["version"] == AGREEMENTS[name] and set(doc["texts"]) == {"zh-CN", "en"}
        zh, en = doc["texts"]["zh-CN"], doc["texts"]["en"]
        assert zh["title"] and en["title"] and zh["title"] != en["title"]
        headings = [b for b in zh["blocks"] if b["kind"] == "heading"]
        assert len(headings) >= 8 and len(headings) == len([b for b in en["blocks"] if b["kind"] == "heading"])
        assert all(b["text"] or b["items"] for b in zh["blocks"] + en["blocks"])
    privacy = " ".join(b["text"] + " ".join(b["items"]) for b in client.get(
        "/api/v1/legal/documents/privacy").json()["texts"]["zh-CN"]["blocks"])
    for topic in ("敏感个人信息", "处方", "撤回", "删除", "注销", "privacy@medreach.cn", "境内"):
        assert topic in privacy
    assert client.get("/api/v1/legal/documents/cookies").status_code == 422


def test_the_purposes_are_explained_and_only_analytics_is_on_by_default(client):
    purposes = {p["purpose"]: p for p in client.get("/api/v1/legal/purposes").json()}
    assert set(purposes) == set(PURPOSES) and set(OPTIONAL) <= set(purposes)
    assert {p for p, spec in purposes.items() if spec["default"]} == {"behaviour_analytics"}
    assert purposes["health_profile"]["sensitive"] is True
    for spec in purposes.values():
        assert spec["label_zh"] and spec["label_en"] and len(spec["description_zh"]) > 20 and spec["description_en"]


@pytest.mark.parametrize("agreements, field", [
    ({}, "agreements.terms"),
    ({"terms": AGREEMENTS["terms"]}, "agreements.privacy"),
    ({**AGREEMENTS, "privacy": "2020-01-01"}, "agreements.privacy"),  # an outdated version is no acceptance
])
def test_registration_needs_both_documents_in_force(client, db, agreements, field):
    r = sign_up(client, agreements=agreements)
    assert r.status_code == 422 and problem_code(r) == "AGREEMENT_REQUIRED"
    assert r.json()["errors"][0]["field"] == field
    with db.session() as s:  # nothing half-written
        assert s.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_registration_records_the_versions_and_the_choices(client, db):
    r = sign_up(client, agreements=AGREEMENTS, consents={"marketing_sms": True, "behaviour_analytics": False})
    assert r.status_code == 201, r.text
    user = r.json()["user"]
    assert user["pending_agreements"] == []
    with db.session() as s:
        accepted = s.scalars(sa.select(AgreementAcceptance).where(AgreementAcceptance.user_id == user["id"])).all()
        assert {(a.document, a.version, a.channel) for a in accepted} == {
            (name, version, "registration") for name, version in AGREEMENTS.items()}
        assert all(a.accepted_at and a.ip for a in accepted)
        ledger = s.scalars(sa.select(Consent).where(Consent.user_id == user["id"])).all()
        assert {(c.purpose, c.granted, c.channel) for c in ledger} == {
            ("marketing_sms", True, "registration"), ("behaviour_analytics", False, "registration")}
    states = {c["purpose"]: c for c in client.get("/api/v1/me/consents", headers=bearer(r.json()["tokens"])).json()}
    assert states["marketing_sms"]["granted"] is True and states["behaviour_analytics"]["granted"] is False
    assert [p for p in OPTIONAL if states[p]["granted"]] == ["marketing_sms"]  # the rest stay off
    assert states["personalization"]["decided_at"] is None


def test_unknown_purposes_are_refused(client):
    r = sign_up(client, agreements=AGREEMENTS, consents={"sell_my_data": True})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("consents.sell_my_data")


def test_a_browser_signalling_no_tracking_registers_with_analytics_off(client, db):
    r = client.post("/api/v1/auth/register", headers={"Sec-GPC": "1"},
                    json={"phone": PHONE, "password": PASSWORD, "agreements": AGREEMENTS})
    states = {c["purpose"]: c for c in client.get("/api/v1/me/consents", headers=bearer(r.json()["tokens"])).json()}
    assert states["behaviour_analytics"]["granted"] is False and states["behaviour_analytics"]["decided_at"]


def test_a_new_version_is_asked_for_and_accepted_on_the_account(client, register, monkeypatch):
    _, headers, _ = register()
    assert client.get("/api/v1/me", headers=headers).json()["pending_agreements"] == []
    monkeypatch.setitem(legal.CURRENT, "privacy", legal.Version("2027-01-01", legal.CURRENT["privacy"].effective))
    assert client.get("/api/v1/me", headers=headers).json()["pending_agreements"] == ["privacy"]
    standing = {a["document"]: a for a in client.get("/api/v1/me/agreements", headers=headers).json()}
    assert standing["privacy"]["up_to_date"] is False and standing["terms"]["up_to_date"] is True
    r = client.post("/api/v1/me/agreements", headers=headers, json={"document": "privacy", "version": "2026-01-01"})
    assert r.status_code == 422 and problem_code(r) == "AGREEMENT_REQUIRED"
    r = client.post("/api/v1/me/agreements", headers=headers, json={"document": "privacy", "version": "2027-01-01"})
    assert r.status_code == 200 and r.json()["accepted_version"] == "2027-01-01" and r.json()["up_to_date"]
    assert client.get("/api/v1/me", headers=headers).json()["pending_agreements"] == []
