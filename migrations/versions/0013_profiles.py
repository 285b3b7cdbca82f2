"""profiles: tag catalogue

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 05:00:00
"""
from alembic import op
import sqlalchemy as sa
import medreach.core.db
import medreach.core.security


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tag_definitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name_zh', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('family', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('schedule', sa.String(length=64), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('sensitive', sa.Boolean(), nullable=False),
    sa.Column('coverage', sa.Float(), nullable=True),
    sa.Column('customers', sa.Integer(), nullable=True),
    sa.Column('computed_at', medreach.core.db.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_definitions')),
    sa.UniqueConstraint('code', name=op.f('uq_tag_definitions_code'))
    )
    with op.batch_alter_table('tag_definitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_definitions_family'), ['family'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tag_definitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_definitions_family'))

    op.drop_table('tag_definitions')
