"""The demo world's people are customer accounts: every simulated shopper who signs in has an account with the
same id in the database, the events, the lake and the ground truth, stored like a registered customer's
(personal data encrypted, the customer role, the legal documents and the consent ledger at sign-up), marked
is_demo, with believable consent shares, and removed with their world."""

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
import sqlalchemy as sa

from medreach.accounts import consents, demo_customers
from medreach.accounts.models import AgreementAcceptance, Consent, User
from medreach.core.security import blind_index, decrypt, verify_password
from medreach.tracking import identity, simulator
from medreach.tracking.lake import read_lake
from medreach.tracking.models import IdentityLink
from medreach.tracking.simulator import Plan, World

from .test_simulator import START, catalog

PLAN = Plan(users=300, seed=11, days=120, end=date(2026, 3, 1))
SHARES = {  # purpose -> (low, high) of the share granting it in force
    "personalization": (0.45, 0.8),
    "marketing_sms": (0.2, 0.5),
    "marketing_email": (0.12, 0.4),
    "health_profile": (0.1, 0.35),
}


@pytest.fixture
def demo_world(db, tmp_path, shop, register):
    """A real customer, then a simulated world of 300 people in the lake and the database."""
    real, _, _ = register()
    lake_dir = tmp_path / "lake"
    manifest = simulator.write_lake(db.session, lake_dir, tmp_path / "staging", PLAN, workers=1)
    return real, lake_dir, manifest


def _lake_users(lake_dir) -> set[str]:
    con = duckdb.connect()
    return {u for (u,) in con.execute(f"SELECT DISTINCT user_id FROM {read_lake(lake_dir)} WHERE user_id IS NOT NULL")
            .fetchall()}


def test_every_signed_in_shopper_is_a_demo_account_with_the_same_id(db, demo_world, register):
    real, lake_dir, manifest = demo_world
    with db.session() as s:
        demo = {u.id: u for u in s.scalars(sa.select(User).where(User.is_demo.is_(True)))}
        assert real["id"] not in demo and not s.get_one(User, real["id"]).is_demo
        assert len(demo) == manifest["accounts"] == demo_customers.count(s) > 100
    first = manifest["first_user_id"]
    assert first > real["id"] and all(first <= i < first + PLAN.users for i in demo)  # shopper k is account first + k
    in_lake = _lake_users(lake_dir)
    # Shoppers' events carry their account's id; only our own test accounts keep test ids (the cleaning drops them).
    assert {u for u in in_lake if u.isdigit()} == {str(i) for i in demo}
    assert all(u.startswith(f"test{PLAN.seed}-") for u in in_lake if not u.isdigit())
    con = duckdb.connect()
    truth = dict(con.execute(f"SELECT user_id, city FROM '{lake_dir}/simulation/people.parquet'").fetchall())
    assert all(truth[str(i)] == u.city for i, u in demo.items())  # the ground truth names the same people
    with db.session() as s:
        some = next(iter(demo))
        assert identity.links(s, str(some))  # the anonymous browsing is stitched to the account
    # A customer who registers after the demo gets an id of their own, above the reserved range.
    later, _, _ = register()
    assert later["id"] > max(demo)
    with db.session() as s:
        assert not s.get_one(User, later["id"]).is_demo


def test_demo_accounts_are_stored_like_registered_customers(db, demo_world):
    real, _, manifest = demo_world
    with db.session() as s:
        raw = s.execute(sa.text("SELECT id, phone_enc, phone_index, real_name_enc, email, password_hash, created_at "
                                "FROM users WHERE is_demo = :t ORDER BY id"), {"t": True}).all()
        users = {u.id: u for u in s.scalars(sa.select(User).where(User.is_demo.is_(True)))}
        phones = [r for r in raw if r.phone_enc]
        assert phones and len(phones) < len(raw)  # most sign in by phone, some by e-mail
        for r in raw:
            u = users[r.id]
            assert (r.phone_enc is None) == (u.phone is None) and (r.email is None) == (u.phone is not None)
            if r.phone_enc:  # ciphertext at rest, the plaintext only through the column type
                assert r.phone_enc.startswith("v1:") and u.phone not in r.phone_enc
                assert decrypt(r.phone_enc) == u.phone and r.phone_index == blind_index(u.phone)
                assert len(u.phone) == 11 and u.phone.startswith("1")
            if r.real_name_enc:
                assert r.real_name_enc.startswith("v1:") and decrypt(r.real_name_enc) == u.real_name
            assert u.role_names == ["customer"] and not u.is_staff and u.is_active
            assert u.birth_date and START.year - u.birth_date.year >= 0 and u.gender in ("male", "female")
        assert any(r.real_name_enc for r in raw) and any(r.real_name_enc is None for r in raw)
        assert len({r.phone_index for r in phones}) == len(phones)
        # One hash for all, of a password nobody knows: they cannot log in.
        assert len({r.password_hash for r in raw}) == 1 and raw[0].password_hash.startswith("$argon2id$")
        assert not verify_password(raw[0].password_hash, "medreach-demo-2026")
        some = raw[len(raw) // 2]
        signed_up = users[some.id].created_at
        assert PLAN.start <= signed_up.date() < PLAN.end
        accepted = s.scalars(sa.select(AgreementAcceptance).where(AgreementAcceptance.user_id == some.id)).all()
        assert {a.document for a in accepted} == {"terms", "privacy"}
        assert all(a.accepted_at == signed_up and a.channel == "registration" for a in accepted)


def test_consents_are_given_at_sign_up_in_believable_shares(db, demo_world):
    _, _, manifest = demo_world
    with db.session() as s:
        demo = {u.id: u.created_at for u in s.scalars(sa.select(User).where(User.is_demo.is_(True)))}
        rows = s.scalars(sa.select(Consent).where(Consent.user_id.in_(demo))).all()
        at_sign_up = [c for c in rows if c.channel == "registration"]
        assert len(at_sign_up) == 5 * len(demo)  # every purpose decided on the form
        assert all(c.at == demo[c.user_id] for c in at_sign_up)
        later = [c for c in rows if c.channel == "account"]
        assert later and all(demo[c.user_id] < c.at < datetime.combine(PLAN.end, datetime.min.time(), UTC)
                             for c in later)
        for purpose, (low, high) in SHARES.items():
            share = len(consents.granting(s, purpose) & set(demo)) / len(demo)
            assert low <= share <= high, (purpose, share)
            refused = consents.refused(s, set(demo), purpose)  # the gates see both sides
            assert refused and len(refused) < len(demo)
        assert consents.refused(s, set(demo), "behaviour_analytics") == set()


def test_consent_shares_over_a_large_population_and_health_follows_chronic_illness():
    world = World(catalog(), START, 365, seed=5, source_id=1, first_user_id=1000)
    people = [simulator.make_person(world, i)[0] for i in range(4000)]
    signed = datetime(2025, 9, 1, tzinfo=UTC)
    accounts = [(p, simulator.customer(world, p, signed)) for p in people if p.kind == "shopper"]
    assert all(c.id == int(p.user_id) == 1000 + p.index for p, c in accounts)
    for purpose, share in simulator.CONSENT_SHARES.items():
        got = sum(c.choices[purpose] for _, c in accounts) / len(accounts)
        assert abs(got - share) < 0.06, (purpose, got)
    chronic = [c.choices["health_profile"] for p, c in accounts if set(p.conditions) & set(simulator.CHRONIC)]
    others = [c.choices["health_profile"] for p, c in accounts if not set(p.conditions) & set(simulator.CHRONIC)]
    assert sum(chronic) / len(chronic) > 1.5 * sum(others) / len(others)
    phones = [c.phone for _, c in accounts if c.phone]
    assert len(set(phones)) == len(phones) and all(len(x) == 11 for x in phones)
    assert 0.15 < sum(c.email is not None for _, c in accounts) / len(accounts) < 0.35
    assert all(c.changes == tuple(sorted(c.changes, key=lambda x: x[2])) for _, c in accounts)
    # The same person gets the same account (a stream of its own).
    p, c = accounts[7]
    assert simulator.customer(world, p, signed) == c


def test_a_taken_phone_signs_the_demo_customer_up_by_email(db, shop, register):
    real, _, _ = register(phone="13700001111")
    with db.session() as s:
        first = demo_customers.reserve_ids(s, 2)
        at = datetime(2026, 1, 5, 3, tzinfo=UTC)
        made = demo_customers.create(s, [
            demo_customers.DemoCustomer(first, at, "13700001111", None, "王先生", "male", date(1980, 1, 2), "深圳",
                                        "广东", choices={"marketing_sms": True}),
            demo_customers.DemoCustomer(first + 1, at, "13700002222", None, "李女士", "female", date(1990, 3, 4),
                                        "上海", "上海", changes=(("marketing_sms", True, at + timedelta(days=3)),)),
        ])
        assert made == 2
        clash, other = s.get_one(User, first), s.get_one(User, first + 1)
        assert clash.phone is None and clash.email == f"u{first}@{demo_customers.EMAIL_DOMAIN}"
        assert other.phone == "13700002222" and s.get_one(User, real["id"]).phone == "13700001111"
        assert consents.granting(s, "marketing_sms") >= {first, first + 1}


def test_replacing_the_world_removes_its_accounts_links_and_consents(db, demo_world):
    real, lake_dir, manifest = demo_world
    with db.session() as s:
        some = s.scalar(sa.select(User.id).where(User.is_demo.is_(True)))
        highest = s.scalar(sa.select(sa.func.max(User.id)))
        simulator.remove_world(s, lake_dir, manifest)
        # The next world's ids are new ones: no account of the removed world lends its id to another person.
        assert demo_customers.reserve_ids(s, 10, manifest["first_user_id"] + PLAN.users) > highest
    with db.session() as s:
        assert demo_customers.count(s) == 0 and s.get(User, some) is None
        assert s.scalar(sa.select(sa.func.count()).select_from(Consent).where(Consent.user_id == some)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(IdentityLink)) == 0
        assert s.get_one(User, real["id"]).phone  # a real customer stays
        assert consents.states(s, real["id"])
    assert simulator.existing_world(lake_dir) is None
