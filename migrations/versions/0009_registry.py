"""elders: ID numbers encrypted at rest, registry status, shared landlines

- id_number (clear text) becomes id_number_cipher (Fernet), id_number_hash (keyed HMAC,
  unique, for lookup) and id_number_last4; existing numbers are converted with the
  registry key (bot/registry/crypto.py) and the clear column is dropped;
- status (active|moved|deceased) with a note and when it changed; updated_at;
- emergency_contact_relation (与老人关系 of the registry file);
- phone is no longer unique: an old couple often shares one landline; phone_last4
  (derived from phone by the model) lets the console find "尾号1234" by index.
Merges the branches that grew from 0001.

Revision ID: 0009_registry
Revises: 0003_telephony, 0004_console, 0005_active_visit, 0007_sms_optouts, 0008_identity_proofs
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_registry"
down_revision = ("0003_telephony", "0004_console", "0005_active_visit", "0007_sms_optouts",
                 "0008_identity_proofs")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("elders") as batch:
        batch.add_column(sa.Column("id_number_cipher", sa.Text(), nullable=True))
        batch.add_column(sa.Column("id_number_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("id_number_last4", sa.String(length=4), nullable=True))
        batch.add_column(sa.Column("phone_last4", sa.String(length=4), nullable=True))
        batch.add_column(sa.Column("emergency_contact_relation", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=12), nullable=False,
                                   server_default="active"))
        batch.add_column(sa.Column("status_note", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("status_changed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, id_number, phone FROM elders")).fetchall()
    for r in rows:
        digits = "".join(ch for ch in r.phone or "" if ch.isdigit())
        if digits:
            conn.execute(sa.text("UPDATE elders SET phone_last4 = :l WHERE id = :id"),
                         dict(l=digits[-4:], id=r.id))
    if any(r.id_number for r in rows):
        from bot.registry import crypto

        for r in rows:
            if r.id_number:
                conn.execute(sa.text(
                    "UPDATE elders SET id_number_cipher = :c, id_number_hash = :h, "
                    "id_number_last4 = :l WHERE id = :id"),
                    dict(c=crypto.encrypt_id(r.id_number), h=crypto.id_lookup_hash(r.id_number),
                         l=crypto.id_last4(r.id_number), id=r.id))
    conn.execute(sa.text("UPDATE elders SET updated_at = created_at"))
    with op.batch_alter_table("elders") as batch:
        batch.drop_constraint("uq_elders_id_number", type_="unique")
        batch.drop_column("id_number")
        batch.alter_column("updated_at", existing_type=sa.DateTime(), nullable=False)
        batch.drop_index("ix_elders_phone")
        batch.create_index("ix_elders_phone", ["phone"], unique=False)
        batch.create_unique_constraint("uq_elders_id_number_hash", ["id_number_hash"])
        batch.create_index("ix_elders_id_number_last4", ["id_number_last4"], unique=False)
        batch.create_index("ix_elders_phone_last4", ["phone_last4"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("the clear ID numbers are not restored: restore a backup instead")
