"""dataset imports and quality reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 13:20:00
"""
from alembic import op
import sqlalchemy as sa
import medreach.core.db
import medreach.core.security


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quality_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('engine', sa.String(length=16), nullable=False),
    sa.Column('rows_in', sa.Integer(), nullable=False),
    sa.Column('rows_out', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('created_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_reports'))
    )
    with op.batch_alter_table('quality_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_reports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_reports_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_reports_subject'), ['subject'], unique=False)

    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_column('params')

    with op.batch_alter_table('quality_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_reports_subject'))
        batch_op.drop_index(batch_op.f('ix_quality_reports_run_id'))
        batch_op.drop_index(batch_op.f('ix_quality_reports_created_at'))

    op.drop_table('quality_reports')
