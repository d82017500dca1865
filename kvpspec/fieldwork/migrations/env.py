"""Alembic environment for the collection server: run from code only
(kvpspec.fieldwork.db.migrate passes the connection in ``config.attributes``)."""

from alembic import context

from kvpspec.fieldwork.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
