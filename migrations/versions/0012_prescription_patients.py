"""orders: the patient on a prescription, lean payment notifications

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 04:00:00
"""
from alembic import op
import sqlalchemy as sa
import medreach.core.db
import medreach.core.security


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
