"""`make run`: the web server and a task worker together, stopped together.

(The scheduler and the HL7 listener join this list when their issues land.)
"""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the staff app and run a task worker until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("REFLOOP_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, addr, **options):
        self._print_logins()
        manage = [sys.executable, "manage.py"]
        processes = {
            "web": subprocess.Popen([*manage, "runserver", addr, "--noreload"]),
            "worker": subprocess.Popen([*manage, "db_worker", "--interval", "2"]),
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
