"""Alembic environment for a case database.

Migrations run in-process from :func:`clearsight.store.sql.upgrade_schema`, which hands
over an open connection; logging is left alone so the CLI's output stays clean.
"""

from alembic import context

from clearsight.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds tables when a migration must.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
