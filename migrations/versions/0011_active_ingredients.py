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
    # Products' structured active ingredients (the online-sale ban is derived from them). Existing rows get an
    # empty list; the ban of a product without ingredients still follows its generic name and form, and
    # `medreach demo` (or any save) re-derives it.
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_ingredients', sa.JSON(), nullable=True))
    op.execute("UPDATE products SET active_ingredients = '[]'")
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.alter_column('active_ingredients', existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('active_ingredients')
