"""promotions: member spend ledger

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 05:10:00
"""
from alembic import op
import sqlalchemy as sa
import medreach.core.db
import medreach.core.security


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
