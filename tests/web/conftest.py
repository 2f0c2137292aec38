import pytest

from tests import factories
from tests.factories import ago


@pytest.fixture
def referral(line, clinician, intake):
    """A complete referral from a known referrer, received two hours ago, with one document."""
    return factories.referral(
        line=line, clinician=clinician, actor=intake, received_at=ago(hours=2), last_name="Quill"
    )
