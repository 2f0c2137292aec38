"""One scheduler pass in this process, against whatever database DATABASE_URL names; prints one
JSON line: wall seconds, peak memory (max RSS) and what each job handled. bench/scheduler.py
starts it, alone or two at once.

    DATABASE_URL=... python bench/scheduler_pass.py
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refloop.settings")

import django  # noqa: E402

django.setup()

from refloop.cli.management.commands.refloop_scheduler import (  # noqa: E402
    scheduler_jobs,
    scheduler_pass,
)


def main():
    jobs = scheduler_jobs()
    start = time.perf_counter()
    handled = scheduler_pass(jobs, {}, force=True)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 3), "max_rss_mb": round(peak_mb), **handled}))


if __name__ == "__main__":
    main()
