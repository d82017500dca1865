"""The first schema: every table of the collection server.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("token_hash", sa.String(128), nullable=True, unique=True),
        sa.Column("created", TIME, nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False, server_default="open"),
        sa.Column("holder", sa.Integer, sa.ForeignKey("accounts.id"), nullable=True),
        sa.Column("held_since", TIME, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("appointment", TIME, nullable=True),
        sa.Column("disposition", sa.Integer, nullable=True),
        sa.Column("sample", sa.JSON, nullable=False),
        sa.Column("web_token_hash", sa.String(128), nullable=True, unique=True),
        sa.Column("created", TIME, nullable=False),
    )
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_holder", "cases", ["holder"])
    op.create_table(
        "persons",
        sa.Column("case_id", sa.String(100), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(100), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_attempts_case", "attempts", ["case_id"])
    op.create_table(
        "interviews",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(100), nullable=True),
        sa.Column("account_id", sa.Integer, nullable=True),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("paradata", sa.JSON, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("received", TIME, nullable=False),
    )
    op.create_index("ix_interviews_case", "interviews", ["case_id"])
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("interview_id", sa.String(100), nullable=True),
        sa.Column("account_id", sa.Integer, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("errors", sa.JSON, nullable=False),
        sa.Column("received", TIME, nullable=False),
    )
    op.create_table(
        "partials",
        sa.Column("case_id", sa.String(100), primary_key=True),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("updated", TIME, nullable=False),
    )


def downgrade() -> None:
    for table in ("partials", "quarantine", "interviews", "attempts", "persons", "cases", "accounts", "meta"):
        op.drop_table(table)
