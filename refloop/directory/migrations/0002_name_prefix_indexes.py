"""Case-insensitive prefix search on names (staff search, intake's duplicate check) on PostgreSQL.

Django's istartswith/iexact become UPPER(col::text) LIKE/= UPPER(...): only an index on that same
expression with text_pattern_ops serves a prefix LIKE whatever the database's collation. SQLite
compares case-insensitively through its own LIKE and needs nothing here.
"""

from django.db import migrations

INDEXES = [
    ("directory_patient", "last_name", "patient_last_name_upper_prefix"),
    ("directory_patient", "first_name", "patient_first_name_upper_prefix"),
    ("directory_clinician", "last_name", "clinician_last_name_upper_prefix"),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column, name in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} (UPPER("{column}"::text) text_pattern_ops)',
            params=None,
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, _column, name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [("directory", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
