"""Sign in, sign out and the TOTP second factor."""

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from refloop.web.forms import TokenForm
from refloop.web.views import landing_url, safe_next

# Set at sign-in, cleared at sign-out. Seen on the login page without a session, it means the
# session ran out: the person was signed out for being idle.
SIGNED_IN_COOKIE = "refloop_signed_in"
IDLE_MINUTES = settings.SESSION_COOKIE_AGE // 60
# Wrong codes slow down further tries (django-otp throttling): say so rather than just "wrong".
WRONG_CODE = (
    "That code is not right, or was used already. Wait for the next code and try again "
    "(after a wrong code there is a short wait before the next try)."
)


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return landing_url(self.request.user)

    def form_valid(self, form):
        response = super().form_valid(form)
        response.set_cookie(
            SIGNED_IN_COOKIE,
            "1",
            max_age=12 * 3600,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["idle_minutes"] = IDLE_MINUTES
        context["signed_out_idle"] = (
            self.request.COOKIES.get(SIGNED_IN_COOKIE) == "1"
            and not self.request.user.is_authenticated
        )
        return context

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        if context.get("signed_out_idle"):
            response.delete_cookie(SIGNED_IN_COOKIE, samesite="Lax")
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response.delete_cookie(SIGNED_IN_COOKIE, samesite="Lax")
        return response


def _confirmed_devices(user):
    return list(TOTPDevice.objects.devices_for_user(user, confirmed=True))


def _with_next(url_name: str, next_url: str) -> str:
    return reverse(url_name) + "?" + urlencode({"next": next_url})


@never_cache
@login_required
def two_factor(request):
    """Ask for the code of a confirmed authenticator and mark the session verified."""
    next_url = safe_next(request, landing_url(request.user))
    if request.user.is_verified():
        return redirect(next_url)
    devices = _confirmed_devices(request.user)
    if not devices:
        return redirect(_with_next("two_factor_setup", next_url))
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip()
        for device in devices:
            verified = verify_token(request.user, device.persistent_id, token)
            if verified:
                otp_login(request, verified)
                return redirect(next_url)
        form.add_error("token", WRONG_CODE)
    return render(
        request,
        "web/two_factor.html",
        {"form": form, "next": next_url},
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
def two_factor_setup(request):
    """Enrol an authenticator app: scan the QR code (or type the secret), confirm with a code."""
    user = request.user
    next_url = safe_next(request, landing_url(user))
    if _confirmed_devices(user) and not user.is_verified():
        # Adding a device needs the existing one first, or a stolen password would be enough.
        return redirect(_with_next("two_factor", next_url))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by(
        "id"
    ).first() or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, "Two-factor sign-in is set up.")
            return redirect(next_url)
        form.add_error("token", WRONG_CODE)
    qr = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": _inline_svg(qr.to_string(encoding="unicode")),
        "secret": b32encode(device.bin_key).decode(),
    }
    return render(request, "web/two_factor_setup.html", context, status=400 if form.errors else 200)


@login_required
def welcome(request):
    """For an account without a role yet: nothing to show until an admin gives it one."""
    return render(request, "web/welcome.html")


def _inline_svg(document: str) -> str:
    # Drop the XML declaration: the SVG goes inside an HTML page.
    return document[document.find("<svg") :]
