"""Portal accounts: staff invite, the office accepts with a strong password, signs in with
throttling and (if it wants) a second factor; staff and offices stay on their own sides."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from refloop.core.roles import OFFICE_GROUP
from refloop.messaging.enums import MessageChannel
from refloop.messaging.models import OutboundMessage
from refloop.portal.models import OfficeAccount, OfficeInvitation
from tests import factories
from tests.portal.conftest import OFFICE_PASSWORD
from tests.web.helpers import current_code, sign_in, totp_device

STRONG = "Birch-lane-referrals-77"


@pytest.fixture
def practice(db):
    return factories.referrer().organizations.get()


def _invite(client, person, practice, email="desk@maple.example"):
    sign_in(client, person)
    return client.post(reverse("office_invitations"), {"organization": practice.pk, "email": email})


def _token(email="desk@maple.example") -> str:
    message = OutboundMessage.objects.get(to_address=email, channel=MessageChannel.EMAIL)
    return re.search(r"/office/accept/([\w-]+)/", message.body).group(1)


def _login(client, username, password, **extra):
    return client.post(
        reverse("office_login"), {"username": username, "password": password}, **extra
    )


def test_it_lets_an_intake_coordinator_invite_an_office_by_email_without_phi(
    client, intake, practice
):
    response = _invite(client, intake, practice)

    invitation = OfficeInvitation.objects.get()
    assert response.status_code == 200 and "/office/accept/" in response.content.decode()
    message = OutboundMessage.objects.get(channel=MessageChannel.EMAIL)
    assert message.to_address == "desk@maple.example" and message.document_id is None
    assert message.referral_id is None and message.patient_id is None
    assert invitation.token_hash not in message.body  # the token is sent, only its hash kept
    assert _token() not in invitation.token_hash


def test_it_refuses_invitations_from_roles_without_the_permission(client, liaison, practice):
    assert _invite(client, liaison, practice).status_code == 403
    assert not OfficeInvitation.objects.exists()


def test_it_refuses_a_weak_password_and_accepts_a_strong_one_once(client, intake, practice):
    _invite(client, intake, practice)
    client.logout()
    url = reverse("office_accept", args=[_token()])

    weak = client.post(url, {"password": "password123", "password_again": "password123"})
    short = client.post(url, {"password": "Maple-1", "password_again": "Maple-1"})
    strong = client.post(url, {"password": STRONG, "password_again": STRONG})
    again = client.post(url, {"password": STRONG, "password_again": STRONG})

    assert weak.status_code == 400 and "too common" in weak.content.decode()
    assert short.status_code == 400 and "at least 12 characters" in short.content.decode()
    assert strong.status_code == 302
    assert again.status_code == 410 and "already been used" in again.content.decode()
    account = OfficeAccount.objects.get()
    user = account.user
    assert account.organization == practice and user.username == "desk@maple.example"
    assert list(user.groups.values_list("name", flat=True)) == [OFFICE_GROUP]
    assert not user.is_staff and not user.get_all_permissions()
    assert _login(client, "desk@maple.example", STRONG).status_code == 302


def test_it_refuses_an_expired_invitation(client, intake, practice):
    _invite(client, intake, practice)
    OfficeInvitation.objects.update(expires_at=factories.ago(minutes=1))
    client.logout()

    response = client.get(reverse("office_accept", args=[_token()]))

    assert response.status_code == 410 and "expired" in response.content.decode()


def test_it_signs_an_office_in_and_out(client, office_user):
    response = _login(client, office_user.username, OFFICE_PASSWORD)

    assert response.status_code == 302 and response["Location"] == reverse("office_home")
    assert client.get(reverse("office_home")).status_code == 200
    client.post(reverse("office_logout"))
    assert client.get(reverse("office_home")).status_code == 302


def test_it_locks_an_account_from_one_address_after_repeated_failures(
    client, office_user, settings
):
    settings.REFLOOP_OFFICE_LOGIN_FAILURES = 3
    for _ in range(3):
        wrong = _login(client, office_user.username, "not-the-password")
        assert wrong.status_code == 400 and "do not match" in wrong.content.decode()

    locked = _login(client, office_user.username, OFFICE_PASSWORD)
    elsewhere = _login(client, office_user.username, OFFICE_PASSWORD, REMOTE_ADDR="203.0.113.9")

    assert locked.status_code == 429 and "locked" in locked.content.decode()
    assert elsewhere.status_code == 302  # another address is not locked out by this one


def test_it_does_not_let_staff_sign_in_to_the_portal(client, intake):
    response = _login(client, intake.username, "pw-for-tests-1")

    assert response.status_code == 400 and "do not match" in response.content.decode()


def test_it_refuses_staff_on_office_pages_and_offices_on_staff_pages(client, intake, office_user):
    sign_in(client, intake)
    assert client.get(reverse("office_home")).status_code == 403
    client.logout()
    client.force_login(office_user)
    assert client.get(reverse("worklist")).status_code == 403
    assert client.get(reverse("office_invitations")).status_code == 403


def test_it_sets_up_two_factor_and_then_asks_for_the_code_at_sign_in(client, office_user):
    _login(client, office_user.username, OFFICE_PASSWORD)
    setup = client.get(reverse("office_two_factor_setup"))
    assert setup.status_code == 200 and "<svg" in setup.content.decode()
    device = TOTPDevice.objects.get(user=office_user)
    assert (
        client.post(reverse("office_two_factor_setup"), {"token": current_code(device)}).status_code
        == 302
    )
    device.refresh_from_db()
    assert device.confirmed
    client.post(reverse("office_logout"))

    first = _login(client, office_user.username, OFFICE_PASSWORD)
    assert first["Location"] == reverse("office_login_code")
    assert client.get(reverse("office_home")).status_code == 302  # not signed in yet
    wrong = client.post(reverse("office_login_code"), {"token": "000000"})
    device.refresh_from_db()
    device.throttle_reset()  # a wrong code makes the next try wait a second; skip the wait
    device.last_t = -1  # the setup used this period's code; a code is good once
    device.save()
    right = client.post(reverse("office_login_code"), {"token": current_code(device)})

    assert wrong.status_code == 400
    assert right.status_code == 302 and right["Location"] == reverse("office_home")
    # Signed in with the second factor: the staff app's middleware lets the office through.
    assert client.get(reverse("office_home")).status_code == 200


def test_it_counts_wrong_codes_toward_the_lock(client, office_user, settings):
    settings.REFLOOP_OFFICE_LOGIN_FAILURES = 2
    totp_device(office_user)
    _login(client, office_user.username, OFFICE_PASSWORD)
    client.post(reverse("office_login_code"), {"token": "000000"})
    client.post(reverse("office_login_code"), {"token": "000001"})

    locked = client.post(reverse("office_login_code"), {"token": "000002"})

    assert locked.status_code == 429
    assert not User.objects.get(pk=office_user.pk).last_login
