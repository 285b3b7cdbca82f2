"""Alembic environment: one set of migrations for SQLite, MariaDB/MySQL and PostgreSQL."""

from alembic import context

from medreach.core.db import make_engine
from medreach.core.settings import get_settings
from medreach.models import metadata

config = context.config


def run_migrations_online() -> None:
    # An explicit URL (tests, the CLI) wins over the settings.
    url = config.get_main_option("sqlalchemy.url") or get_settings().db_url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
