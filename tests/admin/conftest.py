import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def signed_in_with_second_factor(client, user):
    """Log in and mark the session verified, as the /two-factor/ step would."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def admin_web(client, admin_user):
    return signed_in_with_second_factor(client, admin_user)
