"""The demo world. For now: an admin and one staff member per built-in role, and a sample customer.

Idempotent: a second run finds the accounts and leaves their data alone.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from medreach.accounts import schemas, service
from medreach.accounts.permissions import STAFF_ROLES

DEMO_PASSWORD = "medreach-demo-2026"
DEMO_STAFF = {
    "admin": ("admin@medreach.cn", "系统管理员"),
    "pharmacist": ("pharmacist@medreach.cn", "王药师"),
    "marketer": ("marketer@medreach.cn", "李运营"),
    "analyst": ("analyst@medreach.cn", "赵分析"),
    "service": ("service@medreach.cn", "陈客服"),
}
DEMO_CUSTOMER = ("13800138000", "张三")


def load_demo(session: Session) -> list[dict[str, str]]:
    service.ensure_builtin_roles(session)
    assert set(DEMO_STAFF) == set(STAFF_ROLES), "one demo staff member per staff role"
    logins = []
    for role, (email, name) in DEMO_STAFF.items():
        if service.find_by_login(session, email) is None:
            if role == "admin":
                service.create_admin(session, email=email, phone=None, password=DEMO_PASSWORD, name=name)
            else:
                admin = service.find_by_login(session, DEMO_STAFF["admin"][0])
                service.create_staff(session, admin, schemas.StaffIn(
                    email=email, password=DEMO_PASSWORD, name=name, roles=[role]))
        logins.append({"role": role, "login": email, "password": DEMO_PASSWORD})
    phone, name = DEMO_CUSTOMER
    if service.find_by_login(session, phone) is None:
        service.register(session, schemas.RegisterIn(phone=phone, password=DEMO_PASSWORD, name=name))
    logins.append({"role": "customer", "login": phone, "password": DEMO_PASSWORD})
    return logins
