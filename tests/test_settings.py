import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def settings_load(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS"}}
    environment.update(env, DJANGO_SETTINGS_MODULE="refloop.settings")
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"DEBUG": "false", "ALLOWED_HOSTS": "refloop.example.org"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": "x" * 50}, "ALLOWED_HOSTS"),
        ({"DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
    ],
)
def test_it_refuses_production_mode_with_unsafe_defaults(env, complaint):
    result = settings_load(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and complaint in result.stderr


def test_it_starts_in_production_mode_when_configured():
    result = settings_load(DEBUG="false", SECRET_KEY="s" * 50, ALLOWED_HOSTS="refloop.example.org")
    assert result.returncode == 0, result.stderr


def test_it_starts_locally_with_no_configuration():
    assert settings_load().returncode == 0
