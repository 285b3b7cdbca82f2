"""The layering of the commerce domains, read from the code (docs/architecture.md, "Rules of the house").

accounts, catalog, promotions and orders stand in that order, lowest first, on the ground that every domain
uses (core, compliance, ops). A domain imports only the domains below it; it reads another domain's tables
through that domain's service functions, importing its models for type annotations at most; routers parse,
call a service and shape the answer, and never query the ORM or commit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "medreach"
GROUND = {"core", "compliance", "ops"}
COMMERCE = ["accounts", "catalog", "promotions", "orders"]  # lowest first
ORM_CALLS = {"get", "execute", "scalar", "scalars", "add", "add_all", "delete", "flush", "commit", "query", "merge"}
STATEMENTS = {"select", "update", "insert", "delete"}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path) -> list[tuple[str, list[str], bool]]:
    """(module, names taken, for types only) for every `medreach.…` import in the file, wherever it stands."""
    found: list[tuple[str, list[str], bool]] = []

    def visit(node: ast.AST, types_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.body:
                    visit_one(stmt, True)
                for stmt in child.orelse:
                    visit_one(stmt, types_only)
            else:
                visit_one(child, types_only)

    def visit_one(node: ast.AST, types_only: bool) -> None:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("medreach."):
            names = [a.name for a in node.names]
            # `from medreach.orders import service` takes a module: name it as the module imported
            if len(node.module.split(".")) == 2:
                found.extend((f"{node.module}.{n}", [n], types_only) for n in names)
            else:
                found.append((node.module, names, types_only))
        elif isinstance(node, ast.Import):
            found.extend((a.name, [], types_only) for a in node.names if a.name.startswith("medreach."))
        visit(node, types_only)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def domain_files(domain: str) -> list[Path]:
    return sorted((PACKAGE / domain).rglob("*.py"))


def _domain_of(module: str) -> str:
    return module.split(".")[1]


@pytest.mark.parametrize("domain", COMMERCE)
def test_a_commerce_domain_imports_only_the_domains_below_it(domain):
    below = set(COMMERCE[: COMMERCE.index(domain)]) | GROUND | {domain}
    upward = [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in domain_files(domain)
        for module, _, _ in imports(path)
        if _domain_of(module) not in below
    ]
    assert upward == [], f"{domain} may import only {sorted(below)}"


@pytest.mark.parametrize("domain", COMMERCE[1:])
def test_other_domains_models_are_imported_for_types_only(domain):
    """The one runtime exception: a router names the User that accounts.deps hands it."""
    reads = [
        f"{path.relative_to(PACKAGE)}: {module} {names}"
        for path in domain_files(domain)
        for module, names, types_only in imports(path)
        if _domain_of(module) in COMMERCE
        and _domain_of(module) != domain
        and module.endswith(".models")
        and not types_only
        and not (path.name == "api.py" and module == "medreach.accounts.models" and names == ["User"])
    ]
    assert reads == [], "read other domains through their services; import their models under TYPE_CHECKING"


def orm_work(path: Path) -> list[str]:
    """Calls in the file that query the ORM or commit: session.get/execute/…/commit, select(…) and the like."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ORM_CALLS:
            owner = func.value
            if isinstance(owner, ast.Name) and owner.id == "session":
                found.append(f"line {node.lineno}: {owner.id}.{func.attr}()")
        elif isinstance(func, ast.Name) and func.id in STATEMENTS:
            found.append(f"line {node.lineno}: {func.id}()")
    return found


@pytest.mark.parametrize("domain", COMMERCE[1:])
def test_routers_neither_query_nor_commit(domain):
    assert orm_work(PACKAGE / domain / "api.py") == []


def test_the_checks_see_what_they_look_for(tmp_path):
    """The readers above find an upward import, a model read at runtime and a router's commit."""
    sample = tmp_path / "api.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "from medreach.orders import service as orders\n"
        "from medreach.catalog.models import Product\n"
        "if TYPE_CHECKING:\n"
        "    from medreach.accounts.models import User\n"
        "def route(session):\n"
        "    from medreach.promotions.models import Coupon\n"
        "    session.get(Product, 1)\n"
        "    session.commit()\n"
        "    return select(Coupon)\n",
        encoding="utf-8",
    )
    assert imports(sample) == [
        ("medreach.orders.service", ["service"], False),
        ("medreach.catalog.models", ["Product"], False),
        ("medreach.accounts.models", ["User"], True),
        ("medreach.promotions.models", ["Coupon"], False),
    ]
    assert orm_work(sample) == ["line 8: session.get()", "line 9: session.commit()", "line 10: select()"]
