"""tracking sources

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:06:22.825484
"""
from alembic import op
import sqlalchemy as sa
import medreach.core.db
import medreach.core.security


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tracking_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('write_key_hash', sa.String(length=64), nullable=False),
    sa.Column('key_hint', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('embedded_key_enc', medreach.core.security.EncryptedString(), nullable=True),
    sa.Column('created_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('rotated_at', medreach.core.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_sources')),
    sa.UniqueConstraint('write_key_hash', name=op.f('uq_tracking_sources_write_key_hash'))
    )
    op.create_table('tracking_rejections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=48), nullable=False),
    sa.Column('field', sa.String(length=48), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('sample', sa.String(length=512), nullable=False),
    sa.Column('at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['tracking_sources.id'], name=op.f('fk_tracking_rejections_source_id_tracking_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_rejections'))
    )
    with op.batch_alter_table('tracking_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracking_rejections_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracking_rejections_source_id'), ['source_id'], unique=False)



def downgrade() -> None:
    for table in ("tracking_rejections", "tracking_sources"):
        op.drop_table(table)
