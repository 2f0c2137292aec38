"""The task backends end to end: a real worker process takes a heartbeat off the queue.

The database backend always runs; the Redis backend (django-tasks-rq) runs against the throwaway
Redis that scripts/test.sh starts (REFLOOP_TEST_REDIS_URL), and is required in CI."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REFLOOP_TEST_REDIS_URL", "")


def _manage(env, *args, **kwargs):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        **kwargs,
    )


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TASK_BACKEND"}}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'tasks.sqlite3'}",
        REFLOOP_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="refloop.settings",
        **extra,
    )
    return env


def _heartbeat_through(env, worker_args):
    migrated = _manage(env, "migrate", "--no-input", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    worker = subprocess.Popen(
        [sys.executable, "manage.py", *worker_args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return _manage(env, "refloop_check_tasks", "--timeout", "60")
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def test_it_runs_a_task_through_the_database_backend(tmp_path):
    checked = _heartbeat_through(_env(tmp_path), ["db_worker", "--interval", "0.2"])
    assert checked.returncode == 0, checked.stderr
    assert "A worker ran the heartbeat" in checked.stdout


def test_it_says_so_when_no_worker_runs(tmp_path):
    env = _env(tmp_path)
    assert _manage(env, "migrate", "--no-input", "-v0").returncode == 0
    checked = _manage(env, "refloop_check_tasks", "--timeout", "1")
    assert checked.returncode != 0
    assert "No worker ran the heartbeat" in checked.stderr


@pytest.mark.skipif(
    not REDIS_URL and os.environ.get("REFLOOP_REQUIRE_REDIS") != "1",
    reason="no throwaway Redis (scripts/test.sh starts one when redis-server is installed)",
)
def test_it_runs_a_task_through_redis(tmp_path):
    assert REDIS_URL, "REFLOOP_REQUIRE_REDIS=1 but no Redis was started"
    env = _env(tmp_path, TASK_BACKEND="django_tasks_rq.RQBackend", REDIS_URL=REDIS_URL)
    checked = _heartbeat_through(
        env,
        [
            "rqworker",
            "--job-class",
            "django_tasks_rq.Job",
            "--worker-class",
            "rq.SimpleWorker",
            "default",
        ],
    )
    assert checked.returncode == 0, checked.stderr
    assert "A worker ran the heartbeat" in checked.stdout
