"""Database triggers that make a table append-only: UPDATE and DELETE are refused.

Used for the referral events and the access log (DESIGN.md). On SQLite a table rebuild by a
later migration drops its triggers: such a migration must run `append_only_operation` again
(tests check that the triggers are in place).

The one way round them is `purge_allowed()`, for the test suite's flush between tests; on
PostgreSQL that flush is a TRUNCATE, which row triggers do not see.
"""

import threading
from contextlib import contextmanager

from django.db import migrations
from django.db.backends.signals import connection_created

_state = threading.local()

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION refloop_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
"""


def _sql(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            PG_FUNCTION,
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refloop_refuse_change();",
        ]
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_update;",
            f"DROP TRIGGER IF EXISTS {table}_no_delete;",
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END;",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            "WHEN NOT refloop_purge_allowed() "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END;",
        ]
    raise NotImplementedError(f"append-only triggers for {vendor}")


def append_only_operation(table: str) -> migrations.RunPython:
    def forwards(apps, schema_editor):
        for statement in _sql(schema_editor.connection.vendor, table):
            schema_editor.execute(statement, params=None)

    return migrations.RunPython(forwards, migrations.RunPython.noop)


def trigger_names(connection, table: str) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [table],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name=%s", [table]
            )
        return {row[0] for row in cursor.fetchall()}


@contextmanager
def purge_allowed():
    _state.purging = True
    try:
        yield
    finally:
        _state.purging = False


def _register_sqlite_function(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "refloop_purge_allowed",
            0,
            lambda: int(getattr(_state, "purging", False)),
            deterministic=False,
        )


connection_created.connect(_register_sqlite_function, dispatch_uid="refloop_purge_allowed")
