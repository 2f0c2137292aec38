"""Import a CSV or Excel file of referrals from another system, in this process.

    manage.py refloop_import FILE --source NAME [--mapping mapping.json] [--user NAME]
    manage.py refloop_import --resume RUN_ID

The file is kept as an import run first (as an upload would be), then imported chunk by chunk;
a run interrupted midway (killed, or the machine went down) is finished with --resume once its
lease has run out. --mapping creates the source, or replaces its mapping.
"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from refloop.core.errors import DomainError
from refloop.interop.files.models import ImportSource
from refloop.interop.files.services import (
    CHUNK,
    import_run_process,
    import_start,
    mapping_check,
)


class Command(BaseCommand):
    help = "Import referrals from a CSV or Excel file through a saved source mapping."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?")
        parser.add_argument("--source", help="the import source's name")
        parser.add_argument("--mapping", help="a JSON file with the source's mapping")
        parser.add_argument("--user", help="who imports (default: the system)")
        parser.add_argument("--resume", type=int, help="finish an interrupted run")
        parser.add_argument("--chunk", type=int, default=CHUNK, help="rows per transaction")

    def handle(self, *args, file, source, mapping, user, resume, chunk, **options):
        if resume:
            run_id = resume
        else:
            if not (file and source):
                raise CommandError("Give FILE and --source NAME (or --resume RUN_ID).")
            run_id = self._start(Path(file), source, mapping, user).pk
        run = import_run_process(run_id=run_id, chunk_size=chunk, on_chunk=self._progress)
        if run.status not in {"done", "failed"}:
            raise CommandError(
                f"Import {run.pk} is held by another worker ({run.owner}); try --resume later."
            )
        summary = (
            f"Import {run.pk} {run.status}: {run.rows_done} rows, {run.created} new, "
            f"{run.duplicate} already here, {run.quarantined} quarantined."
        )
        if run.status == "failed":
            raise CommandError(f"{summary} {run.error}")
        self.stdout.write(self.style.SUCCESS(summary))

    def _start(self, path: Path, name: str, mapping_path: str | None, username: str | None):
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        source = ImportSource.objects.filter(name=name).first()
        if mapping_path:
            mapping = json.loads(Path(mapping_path).read_text())
            try:
                mapping_check(mapping)
            except DomainError as error:
                raise CommandError(error.message) from error
            source, _ = ImportSource.objects.update_or_create(
                name=name, defaults={"mapping": mapping}
            )
        if source is None:
            raise CommandError(f"No source named {name!r}: give its --mapping to create it.")
        actor = get_user_model().objects.get(username=username) if username else None
        try:
            return import_start(
                source_id=source.pk,
                filename=path.name,
                content=path.read_bytes(),
                actor=actor,
                queue=False,
            )
        except DomainError as error:
            raise CommandError(error.message) from error

    def _progress(self, run):
        self.stdout.write(f"  {run.rows_done} / {run.rows_total} rows")
