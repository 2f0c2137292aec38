"""Sign-in, the second factor, and idle sign-out."""

from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from refloop.web.views.auth import SIGNED_IN_COOKIE
from tests.web.helpers import PASSWORD, current_code, sign_in, sign_in_through_pages, totp_device


def test_it_lands_each_role_on_a_page_it_can_use(client, intake, liaison):
    response = client.post(reverse("login"), {"username": "intake", "password": PASSWORD})
    assert response["Location"] == reverse("worklist")

    client.post(reverse("logout"))
    response = client.post(reverse("login"), {"username": "liaison", "password": PASSWORD})
    assert response["Location"] == reverse("program_overview")
    assert client.get(reverse("program_overview")).status_code == 200


def test_it_refuses_a_wrong_password(client, intake):
    response = client.post(reverse("login"), {"username": "intake", "password": "nope"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_it_sends_a_manager_without_a_device_to_set_one_up(client, manager):
    client.post(reverse("login"), {"username": "manager", "password": PASSWORD})

    response = client.get(reverse("worklist"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("two_factor_setup"))
    page = response.content.decode()
    assert "<svg" in page
    device = TOTPDevice.objects.get(user=manager, confirmed=False)
    assert device.config_url.split("secret=")[1][:16] in page  # the base32 secret is shown


def test_it_enrols_a_device_confirmed_by_a_code(client, manager):
    client.post(reverse("login"), {"username": "manager", "password": PASSWORD})
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=manager)

    wrong = client.post(reverse("two_factor_setup"), {"token": "000000"})
    assert wrong.status_code == 400
    device.refresh_from_db()
    device.throttle_reset()  # a wrong code makes the next try wait a second; skip the wait
    response = client.post(
        reverse("two_factor_setup") + "?next=/search/", {"token": current_code(device)}
    )

    assert response.status_code == 302
    assert response["Location"] == "/search/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("worklist")).status_code == 200


def test_it_keeps_a_manager_out_until_the_code_is_given(client, manager):
    device = totp_device(manager)
    client.post(reverse("login"), {"username": "manager", "password": PASSWORD})

    blocked = client.get(reverse("worklist"))
    assert blocked.status_code == 302
    assert blocked["Location"].startswith(reverse("two_factor"))
    # A stolen password is not enough to enrol a second device either.
    assert client.get(reverse("two_factor_setup"))["Location"].startswith(reverse("two_factor"))

    assert client.post(reverse("two_factor"), {"token": "123"}).status_code == 400
    device.refresh_from_db()
    device.throttle_reset()
    client.post(reverse("two_factor"), {"token": current_code(device)})
    assert client.get(reverse("worklist")).status_code == 200


def test_it_signs_a_manager_in_through_both_pages(client, manager):
    sign_in_through_pages(client, manager)

    assert client.get(reverse("access_log")).status_code == 200


def test_it_lets_other_roles_work_without_a_second_factor(client, scheduler):
    sign_in_through_pages(client, scheduler)

    assert client.get(reverse("worklist")).status_code == 200


def test_it_asks_a_person_who_opted_in_for_the_code(client, scheduler):
    totp_device(scheduler)
    client.post(reverse("login"), {"username": "scheduler", "password": PASSWORD})

    assert client.get(reverse("worklist"))["Location"].startswith(reverse("two_factor"))


def test_it_signs_out_by_post_only(client, intake):
    sign_in(client, intake)

    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))

    assert client.get(reverse("worklist")).status_code == 302


def test_it_says_so_when_the_session_ran_out_while_idle(client, intake):
    client.post(reverse("login"), {"username": "intake", "password": PASSWORD})
    client.session.flush()  # what 15 idle minutes do to the session
    client.cookies.pop("sessionid")

    response = client.get(reverse("worklist"), follow=True)

    assert "signed out after 15 minutes idle" in response.content.decode()
    assert client.cookies[SIGNED_IN_COOKIE].value == ""  # said once, then forgotten


def test_it_does_not_claim_idleness_after_a_sign_out(client, intake):
    client.post(reverse("login"), {"username": "intake", "password": PASSWORD})
    client.post(reverse("logout"))

    response = client.get(reverse("login"))

    assert "idle" not in response.content.decode()


def test_it_sends_a_liaison_who_opens_the_home_page_to_their_first_page(client, liaison):
    client.force_login(liaison)
    response = client.get(reverse("worklist"))
    assert response.status_code == 302 and response["Location"] == reverse("program_overview")
