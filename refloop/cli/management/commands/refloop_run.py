"""`make run`: the web server, a task worker, the scheduler and the HL7 v2 listener together,
stopped together."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def worker_command() -> list[str]:
    """The worker for the configured task backend."""
    if settings.TASK_BACKEND == "django_tasks_rq.RQBackend":
        return ["rqworker", "--job-class", "django_tasks_rq.Job", "default"]
    return ["db_worker", "--interval", "2"]


class Command(BaseCommand):
    help = (
        "Serve the staff app, a task worker, the scheduler and the HL7 listener until interrupted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("REFLOOP_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, addr, **options):
        self._print_logins()
        manage = [sys.executable, "manage.py"]
        processes = {
            "web": subprocess.Popen([*manage, "runserver", addr, "--noreload"]),
            "worker": subprocess.Popen([*manage, *worker_command()]),
            "scheduler": subprocess.Popen([*manage, "refloop_scheduler"]),
            "hl7": subprocess.Popen(
                [*manage, "refloop_hl7_listener", "--port", str(settings.REFLOOP_HL7_PORT)]
            ),
        }
        self.stdout.write(f"Refloop is running on http://{addr}/  (Ctrl-C stops everything)")
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            stopped = [name for name, p in processes.items() if p.poll() is not None]
            self.stderr.write(f"{', '.join(stopped)} stopped; stopping the rest.")
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            for process in processes.values():
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _print_logins(self):
        try:
            from refloop.demo.logins import demo_logins_print
        except ImportError:
            return
        demo_logins_print(self.stdout)


def _interrupt(*_):
    raise KeyboardInterrupt
