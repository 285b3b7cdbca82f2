"""profiles: model versions

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 05:00:00
"""
from alembic import op
import sqlalchemy as sa
import medreach.core.db
import medreach.core.security


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task', sa.String(length=32), nullable=False),
    sa.Column('algorithm', sa.String(length=32), nullable=False),
    sa.Column('run', sa.String(length=32), nullable=False),
    sa.Column('snapshot', sa.String(length=64), nullable=False),
    sa.Column('as_of', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('artifact', sa.String(length=255), nullable=False),
    sa.Column('promoted', sa.Boolean(), nullable=False),
    sa.Column('promoted_at', medreach.core.db.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions'))
    )
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.create_index('ix_model_versions_task_created', ['task', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_versions_run'), ['run'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_versions_run'))
        batch_op.drop_index('ix_model_versions_task_created')

    op.drop_table('model_versions')
