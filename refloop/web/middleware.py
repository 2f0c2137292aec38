from django.shortcuts import redirect
from django.urls import reverse

from refloop.core.roles import TWO_FACTOR_ROLES, user_roles

# Pages a signed-in person may see before finishing the second factor.
OPEN_PATHS = ("/login/", "/logout/", "/two-factor/", "/static/")


class TwoFactorRequiredMiddleware:
    """Managers and admins must verify a TOTP code before anything else (others may opt in)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(OPEN_PATHS)
            and (
                user.is_staff
                or user.is_superuser
                or user_roles(user) & TWO_FACTOR_ROLES
                or _has_device(user)
            )
        ):
            return redirect(reverse("two_factor") + "?next=" + request.path)
        return self.get_response(request)


def _has_device(user) -> bool:
    from django_otp import devices_for_user

    return any(True for _ in devices_for_user(user, confirmed=True))
