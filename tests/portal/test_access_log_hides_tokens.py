"""The access log records a patient's page view without the link's token: anyone who may review
the log must not be able to use the link."""

import pytest

from refloop.core.models import AccessLogEntry
from tests.portal.test_patient_links import appointment, link  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_it_logs_the_view_but_not_the_token(client, appointment):  # noqa: F811
    path = link(appointment, "confirm")
    token = path.strip("/").split("/")[-1]
    client.get(path)

    entry = AccessLogEntry.objects.get(username="patient-link")
    assert token not in entry.path
    assert entry.path == "/p/(token)/"
