"""The patient's MRN loses PostgreSQL's second index, the `varchar_pattern_ops` one Django adds
beside every unique text column for LIKE 'prefix%' searches. No query searches MRNs by prefix:
they are matched whole (patient_match, the bulk receive, HL7 and FHIR lookups, directory
services: `mrn = x` / `mrn = ANY(...)`), which the unique index `directory_patient_mrn_key`
serves. One entry fewer per new patient (a file import makes up to a million).

PostgreSQL only (SQLite has no such index). A later AlterField of mrn drops it with IF EXISTS.
"""

from django.db import migrations


def _like_index(schema_editor) -> str:
    return schema_editor._create_index_name("directory_patient", ["mrn"], suffix="_like")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{_like_index(schema_editor)}"')


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{_like_index(schema_editor)}" '
            'ON "directory_patient" ("mrn" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [("directory", "0004_patient_last_lower_birth")]
    operations = [migrations.RunPython(forwards, backwards)]
