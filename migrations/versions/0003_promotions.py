"""promotions coupons flash sales membership

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:36:16.088750
"""
from alembic import op
import sqlalchemy as sa
import medreach.core.db
import medreach.core.security


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coupons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_off_fen', sa.Integer(), nullable=False),
    sa.Column('percent_off', sa.Integer(), nullable=False),
    sa.Column('max_off_fen', sa.Integer(), nullable=False),
    sa.Column('min_spend_fen', sa.Integer(), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('valid_from', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('valid_to', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('per_user_limit', sa.Integer(), nullable=False),
    sa.Column('total_limit', sa.Integer(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('claimable', sa.Boolean(), nullable=False),
    sa.Column('public_code', sa.String(length=32), nullable=True),
    sa.Column('min_member_level', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('review_note', sa.String(length=255), nullable=False),
    sa.Column('created_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupons')),
    sa.UniqueConstraint('public_code', name=op.f('uq_coupons_public_code'))
    )
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupons_status'), ['status'], unique=False)

    op.create_table('promotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('starts_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('ends_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('exclusive', sa.Boolean(), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('review_note', sa.String(length=255), nullable=False),
    sa.Column('published_at', medreach.core.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions'))
    )
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotions_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotions_status'), ['status'], unique=False)

    op.create_table('coupon_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('coupon_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('granted_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', medreach.core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_coupon_grants_coupon_id_coupons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_coupon_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_grants')),
    sa.UniqueConstraint('code', name=op.f('uq_coupon_grants_code'))
    )
    with op.batch_alter_table('coupon_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupon_grants_coupon_id'), ['coupon_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coupon_grants_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_coupon_grants_user_id'), ['user_id'], unique=False)

    op.create_table('flash_buyers',
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_flash_buyers_promotion_id_promotions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('promotion_id', 'user_id', name=op.f('pk_flash_buyers'))
    )
    op.create_table('flash_reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_flash_reservations_promotion_id_promotions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flash_reservations')),
    sa.UniqueConstraint('promotion_id', 'order_id', name=op.f('uq_flash_reservations_promotion_id'))
    )
    with op.batch_alter_table('flash_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flash_reservations_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_flash_reservations_promotion_id'), ['promotion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_flash_reservations_user_id'), ['user_id'], unique=False)

    op.create_table('points_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('at', medreach.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_points_ledger_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_ledger'))
    )
    with op.batch_alter_table('points_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_ledger_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_points_ledger_user_id'), ['user_id'], unique=False)

    op.create_table('flash_sales',
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('sale_price_fen', sa.Integer(), nullable=False),
    sa.Column('sale_stock', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('per_user_limit', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_flash_sales_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_flash_sales_promotion_id_promotions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('promotion_id', name=op.f('pk_flash_sales'))
    )
    with op.batch_alter_table('flash_sales', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flash_sales_product_id'), ['product_id'], unique=False)

    op.create_table('order_adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('label', sa.String(length=128), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_adjustments_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_adjustments'))
    )
    with op.batch_alter_table('order_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_adjustments_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_adjustments_source_id'), ['source_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_earned', sa.Integer(), nullable=False, server_default='0'))



def downgrade() -> None:
    for table in ("points_ledger", "order_adjustments", "flash_sales", "flash_reservations", "flash_buyers",
                  "coupon_grants", "promotions", "coupons"):
        op.drop_table(table)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("points_earned")
