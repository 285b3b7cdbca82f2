"""tracking: internal sources and identity verification

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 04:00:00
"""
from alembic import op
import sqlalchemy as sa
import medreach.core.db
import medreach.core.security


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tracking_sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('internal', sa.Boolean(), nullable=False, server_default=sa.false()))
    # The built-in sources MedReach writes itself were told apart only by their key hint.
    op.execute("UPDATE tracking_sources SET internal = true WHERE key_hint = 'internal'")


def downgrade() -> None:
    with op.batch_alter_table('tracking_sources', schema=None) as batch_op:
        batch_op.drop_column('internal')
