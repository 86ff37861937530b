"""Alembic environment for the bank store (run in-process by the bank store)."""

from alembic import context

from clearsight.banks.models import BankBase

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=BankBase.metadata,
    render_as_batch=True,
    # The bank store may share a PostgreSQL database with cases: keep its own history.
    version_table="clearsight_banks_version",
)
with context.begin_transaction():
    context.run_migrations()
