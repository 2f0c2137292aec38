"""Signing test people in, second factor included."""

from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from refloop.core.roles import TWO_FACTOR_ROLES, user_roles

PASSWORD = "pw-for-tests-1"  # tests.factories.person's default


def needs_two_factor(user) -> bool:
    return user.is_superuser or bool(user_roles(user) & TWO_FACTOR_ROLES)


def totp_device(user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return str(code).zfill(device.digits)


def sign_in(client, user):
    """Signed in as `user`; managers and admins also pass the second factor, as they must."""
    client.force_login(user)
    if needs_two_factor(user):
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
        session.save()
    return client


def sign_in_through_pages(client, user):
    """The way a person does it: the login page, then the two-factor page with a real code."""
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    if needs_two_factor(user):
        device = totp_device(user)
        response = client.post(reverse("two_factor"), {"token": current_code(device)})
    return response
