"""One set of migrations, unchanged on every database, that matches the models exactly."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from medreach.core.migrate import downgrade, upgrade
from medreach.models import metadata


def test_models_match_migrations(backend):
    with backend.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    assert diff == []


def test_downgrade_and_upgrade_round_trip(backend):
    url = backend.db.url
    downgrade(url, "base")
    assert set(sa.inspect(backend.db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(url)
    assert {t.name for t in metadata.sorted_tables} <= set(sa.inspect(backend.db.engine).get_table_names())
