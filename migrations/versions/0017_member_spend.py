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


# orders.state.COUNTED when this migration was written: paid and not given back. Spelled out here so the
# migration keeps meaning what it meant whatever the code says later.
COUNTED = ("paid", "shipped", "completed", "refund_requested")


def upgrade() -> None:
    op.create_table('member_spend',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('paid_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('refunded_at', medreach.core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_member_spend_order_id_orders'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_member_spend_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_member_spend'))
    )
    with op.batch_alter_table('member_spend', schema=None) as batch_op:
        batch_op.create_index('ix_member_spend_user_id_paid_at', ['user_id', 'paid_at'], unique=False)

    # The orders paid before the ledger existed, and still counted, in one statement on the database.
    statuses = sa.bindparam('statuses', value=list(COUNTED), expanding=True)
    op.get_bind().execute(
        sa.text(
            "INSERT INTO member_spend (order_id, user_id, amount_fen, paid_at, refunded_at) "
            "SELECT id, user_id, total_fen, paid_at, NULL FROM orders "
            "WHERE status IN :statuses AND paid_at IS NOT NULL"
        ).bindparams(statuses)
    )


def downgrade() -> None:
    op.drop_table('member_spend')
