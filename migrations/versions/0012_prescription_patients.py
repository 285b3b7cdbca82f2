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
    # The patient (用药人) beside the name, encrypted as JSON; an e-prescription's last valid day (Art 18).
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('patient_enc', medreach.core.security.EncryptedString(), nullable=True))

    # Notifications that failed verification are no longer kept, and a verified one is one row per notification
    # id: drop the unsigned rows and fold repeats into the first row before the unique constraint.
    op.execute("DELETE FROM payment_notifications WHERE outcome = 'bad_signature'")
    op.execute(
        "DELETE FROM payment_notifications WHERE id NOT IN ("
        " SELECT keep_id FROM (SELECT MIN(id) AS keep_id FROM payment_notifications"
        " GROUP BY provider, notify_id) AS kept)"
    )
    with op.batch_alter_table('payment_notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_count', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('last_received_at', medreach.core.db.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_payment_notifications_provider'), ['provider', 'notify_id']
        )

    # Staff views mask personal data for every viewer now: the unmasking permission gives way to the audited
    # reveal, and a role that held the one holds the other.
    op.execute(
        "DELETE FROM role_permissions WHERE permission = 'profiles:read_sensitive' AND role_id IN ("
        " SELECT role_id FROM (SELECT role_id FROM role_permissions WHERE permission = 'pii:reveal') AS held)"
    )
    op.execute("UPDATE role_permissions SET permission = 'pii:reveal' WHERE permission = 'profiles:read_sensitive'")


def downgrade() -> None:
    op.execute("UPDATE role_permissions SET permission = 'profiles:read_sensitive' WHERE permission = 'pii:reveal'")
    with op.batch_alter_table('payment_notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_payment_notifications_provider'), type_='unique')
        batch_op.drop_column('last_received_at')
        batch_op.drop_column('received_count')
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.drop_column('patient_enc')
        batch_op.drop_column('valid_until')
