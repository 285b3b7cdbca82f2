"""accounts: token revocation, agreement acceptance

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 04:00:00
"""
from alembic import op
import sqlalchemy as sa
import medreach.core.db
import medreach.core.security


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
