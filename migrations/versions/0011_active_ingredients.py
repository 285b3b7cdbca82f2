"""catalog: structured active ingredients

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 04:00:00
"""
from alembic import op
import sqlalchemy as sa
import medreach.core.db
import medreach.core.security


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
