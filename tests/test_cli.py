"""The `medreach` command against a fresh SQLite database."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from medreach.accounts import service
from medreach.cli import app
from medreach.core.db import Database
from medreach.core.security import verify_password
from medreach.core.settings import get_settings
from medreach.demo import DEMO_PASSWORD, DEMO_STAFF


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDREACH_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MEDREACH_DEMO_USERS", "0")
    monkeypatch.delenv("MEDREACH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield Database(get_settings().db_url)
    get_settings.cache_clear()


def run(*args):
    result = CliRunner().invoke(app, list(args))
    return result


def test_db_upgrade_create_admin_and_demo(cli_env):
    assert run("db", "upgrade").exit_code == 0
    r = run("users", "create-admin", "--login", "root@medreach.cn", "--password", "a-long-password")
    assert r.exit_code == 0 and "root@medreach.cn" in r.output
    first = run("demo")
    assert first.exit_code == 0
    for email in (e for e, _ in DEMO_STAFF.values()):
        assert email in first.output
    assert run("demo").exit_code == 0  # idempotent: the second run keeps the data
    with cli_env.session() as s:
        for role, (email, _) in DEMO_STAFF.items():
            user = service.find_by_login(s, email)
            assert user.role_names == [role] and verify_password(user.password_hash, DEMO_PASSWORD)
        root = service.find_by_login(s, "root@medreach.cn")
        assert "admin" in root.role_names and root.is_staff


def test_create_admin_rejects_bad_input(cli_env):
    run("db", "upgrade")
    assert run("users", "create-admin", "--login", "root@medreach.cn", "--password", "short").exit_code != 0
    assert run("users", "create-admin", "--login", "12345", "--password", "long-enough-1").exit_code != 0


def test_demo_catalog_is_rich_and_the_ban_is_visible(cli_env):
    import sqlalchemy as sa

    from medreach.catalog.models import Category, Product

    run("db", "upgrade")
    assert run("demo").exit_code == 0
    with cli_env.session() as s:
        products = list(s.scalars(sa.select(Product)))
        top_level = s.scalars(sa.select(Category).where(Category.parent_id.is_(None))).all()
        used = {p.category.parent.code if p.category.parent else p.category.code for p in products}
    assert len(products) >= 300
    assert len(used) >= 20 and len(top_level) >= 20
    banned = {p.generic_name for p in products if p.online_banned}
    assert {"复方甘草片", "华法林钠片", "注射用头孢曲松钠", "艾司唑仑片", "复方盐酸伪麻黄碱缓释胶囊", "酚麻美敏片"} <= banned
    drugs = [p for p in products if p.drug_class in ("rx", "otc_a", "otc_b")]
    assert all(p.active_ingredients for p in drugs)  # every drug of the demo catalog lists its ingredients
    insulin = [p for p in products if "胰岛素" in p.generic_name]
    assert insulin and not any(p.online_banned for p in insulin)  # blood-sugar-lowering injections are exempt
    classes = {p.drug_class for p in products}
    assert classes == {"rx", "otc_a", "otc_b", "device", "health_food", "other"}
    assert all(p.price_fen > 0 for p in products)


def test_catalog_import_reindex_and_expire(cli_env, tmp_path):
    run("db", "upgrade")
    run("demo")
    good = tmp_path / "more.csv"
    good.write_text("sku,generic_name,drug_class,active_ingredients,category_code,price_fen,stock\n"
                    "CLI-1,维生素C片,otc_b,vitamin_c:100mg,vitamins,590,10\nCLI-2,,otc_b,,vitamins,590,10\n"
                    "CLI-3,维生素E软胶囊,otc_b,,vitamins,590,10\n", encoding="utf-8")
    r = run("catalog", "import", str(good))
    assert r.exit_code == 1 and "created 1" in r.output and "row 3 CLI-2 generic_name" in r.output
    assert "row 4 CLI-3 active_ingredients" in r.output  # a drug needs its active ingredients
    r = run("catalog", "reindex")
    assert r.exit_code == 0 and "indexed" in r.output
    assert int(r.output.split("indexed ")[1].split()[0]) >= 300
    assert "cancelled 0 overdue orders" in run("orders", "expire").output


def test_demo_has_running_promotions(cli_env):
    import sqlalchemy as sa

    from medreach.promotions import service as promotions
    from medreach.promotions.models import Coupon

    run("db", "upgrade")
    assert run("demo").exit_code == 0
    with cli_env.session() as s:
        kinds = {p.kind for p in promotions.running(s)}
        claimable = promotions.claimable(s)
        flash = promotions.running(s, kind="flash_sale")[0]
        tiers = promotions.running(s, kind="spend_tier")[0]
        assert timedelta(hours=1) < flash.ends_at - flash.starts_at <= timedelta(hours=12)  # hours, not 60 days
        assert tiers.ends_at - tiers.starts_at > timedelta(days=30)  # the other promotions run for the season
        assert s.scalar(sa.select(sa.func.count()).select_from(Coupon)) >= 4
    assert {"flash_sale", "spend_tier", "catalog_discount", "free_shipping", "member_price", "gift"} <= kinds
    assert len(claimable) >= 2


def test_pipeline_sync_run_jobs_and_history(cli_env):
    assert run("db", "upgrade").exit_code == 0
    assert run("demo").exit_code == 0
    synced = run("pipeline", "sync", "--table", "products")
    assert synced.exit_code == 0 and "products" in synced.output and "332 rows" in synced.output
    assert run("pipeline", "sync", "--table", "secrets").exit_code != 0
    ran = run("pipeline", "run", "lake_sync")
    assert ran.exit_code == 0 and "succeeded" in ran.output
    assert "lake_sync" in run("pipeline", "jobs").output
    history = run("pipeline", "history", "--job", "lake_sync").output
    assert "cli" in history and "succeeded" in history
    assert run("pipeline", "run", "nope").exit_code != 0
    assert run("pipeline", "run", "import_file").exit_code != 0  # it needs a file: `pipeline import`


def test_pipeline_import_cleans_a_file_and_reports(cli_env, tmp_path):
    from medreach.pipeline import samples

    assert run("db", "upgrade").exit_code == 0
    export = samples.external_orders(tmp_path / "门店订单.csv", rows=120)
    imported = run("pipeline", "import", "external_orders", str(export))
    assert imported.exit_code == 0, imported.output
    assert "rejected" in imported.output and "quality report 1" in imported.output
    listed = run("pipeline", "datasets").output
    assert "external_orders" in listed and " clean" in listed
    bad = tmp_path / "orders.doc"
    bad.write_text("x")
    assert run("pipeline", "import", "external_orders", str(bad)).exit_code != 0
    assert run("pipeline", "import", "nope", str(export)).exit_code != 0
    other = tmp_path / "other.csv"
    other.write_text("foo,bar\n1,2\n")
    failed = run("pipeline", "import", "external_orders", str(other))
    assert failed.exit_code == 1 and "belongs to external_orders" in failed.output


def test_backup_create_list_verify_restore(cli_env, tmp_path):
    assert run("db", "upgrade").exit_code == 0
    assert run("demo").exit_code == 0
    target = str(tmp_path / "offsite")
    made = run("backup", "create", "--to", target, "--keep", "2")
    assert made.exit_code == 0 and "rows" in made.output
    from medreach.pipeline.backup import list_backups

    [manifest] = list_backups(target)
    backup_id = manifest["id"]
    assert f"backup {backup_id}:" in made.output
    assert backup_id in run("backup", "list", "--from", target).output
    assert "every checksum matches" in run("backup", "verify", backup_id, "--from", target).output
    with cli_env.session() as s:
        s.execute(sa.text("DELETE FROM reviews"))
        s.execute(sa.text("UPDATE products SET price_fen = 1"))
    restored = run("backup", "restore", backup_id, "--from", target, "--yes")
    assert restored.exit_code == 0
    with cli_env.session() as s:
        assert s.scalar(sa.text("SELECT min(price_fen) FROM products")) > 1
    assert run("backup", "restore", backup_id, "--from", target).exit_code != 0  # asks first; no answer: abort
    assert run("backup", "verify", "19990101T000000000000Z", "--from", target).exit_code == 1
