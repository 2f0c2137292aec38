import os

import pytest
from django.core.management.commands import flush
from hypothesis import settings as hypothesis_settings

from refloop.core.append_only import purge_allowed
from refloop.core.roles import Role
from tests import factories

# CI runs the same generated examples every time, so a landing never hangs on luck; elsewhere the
# property tests keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

_flush_handle = flush.Command.handle


def _flush_with_purge(self, *args, **kwargs):
    # Transactional tests empty the tables between tests; the append-only triggers let only
    # this flush through (see core.append_only).
    with purge_allowed():
        return _flush_handle(self, *args, **kwargs)


flush.Command.handle = _flush_with_purge


@pytest.fixture(autouse=True)
def _documents_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "documents"


@pytest.fixture
def line(db):
    return factories.service_line()


@pytest.fixture
def clinician(db):
    return factories.referrer()


def _persona(role):
    @pytest.fixture
    def fixture(db):
        return factories.person(role, username=str(role))

    return fixture


intake = _persona(Role.INTAKE)
triage = _persona(Role.TRIAGE)
scheduler = _persona(Role.SCHEDULER)
care_team = _persona(Role.CARE_TEAM)
manager = _persona(Role.MANAGER)
liaison = _persona(Role.LIAISON)
compliance = _persona(Role.COMPLIANCE)
admin_user = _persona(Role.ADMIN)
