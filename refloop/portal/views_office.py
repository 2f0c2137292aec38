"""The referring office's pages (/office/): sign-in (throttled, TOTP when set up), its own
referrals and messages, records upload, reports. Every page that shows a patient writes the
access log with the office user. Another office's referral is a 404, never a 403 (a 403 would
say it exists)."""

from __future__ import annotations

import time
from base64 import b32encode
from functools import wraps

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.models import User
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from refloop.core.access_log import access_log_write, access_log_write_many, client_ip
from refloop.core.errors import DomainError
from refloop.core.models import AccessLogEntry
from refloop.portal import queries
from refloop.portal.forms import (
    AcceptForm,
    InviteForm,
    OfficeCodeForm,
    OfficeLoginForm,
    RecordsUploadForm,
)
from refloop.portal.models import OfficeInvitation
from refloop.portal.services import (
    office_account_of,
    office_authenticate,
    office_invitation_find,
    office_invite,
    office_invite_accept,
    office_login_succeeded,
    office_records_send,
    office_report_open,
)
from refloop.portal.services.accounts import LOCKED, office_login_failed, office_login_locked
from refloop.referrals.models import Document
from refloop.web.views import requires

Action = AccessLogEntry.Action
SUFFIX = {"application/pdf": "pdf", "image/tiff": "tif", "image/png": "png", "image/jpeg": "jpg"}
PENDING_KEY = "portal_office_pending"
PENDING_SECONDS = 300
WRONG_CODE = "That code is not right, or was used already. Wait for the next code and try again."


def _context(**extra) -> dict:
    return {
        "practice": settings.REFLOOP_PRACTICE_NAME,
        "practice_phone": settings.REFLOOP_PRACTICE_PHONE,
        **extra,
    }


def office_required(view):
    """Signed in as an office user; anyone else signed in (staff) is refused: staff work in the
    staff app, and the portal shows only one organization's referrals."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(reverse("office_login") + "?" + urlencode({"next": request.path}))
        account = office_account_of(request.user)
        if account is None:
            return render(request, "portal/office/refused.html", _context(), status=403)
        request.office = account
        return view(request, *args, **kwargs)

    return wrapped


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/office/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return reverse("office_home")


# Sign-in ----------------------------------------------------------------------------------------


@never_cache
def office_login(request):
    """Password first; an account with an authenticator then gives its code (office_login_code)
    before it is signed in at all, so no half-signed-in session exists (the staff app's
    TwoFactorRequiredMiddleware never sees a portal user without their second factor)."""
    form = OfficeLoginForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        try:
            user = office_authenticate(
                request=request, username=username, password=form.cleaned_data["password"]
            )
        except DomainError as exc:
            error, status = exc.message, 429 if exc.code == "locked" else 400
        else:
            if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
                request.session[PENDING_KEY] = {
                    "user": user.pk,
                    "username": username,
                    "at": time.time(),
                    "next": _next(request),
                }
                return redirect("office_login_code")
            return _signed_in(request, user, None, username, _next(request))
    context = _context(form=form, error=error, next=request.GET.get("next", ""))
    return render(request, "portal/office/login.html", context, status=status)


def _signed_in(request, user, device, username: str, next_url: str):
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
    office_login_succeeded(username=username, ip=client_ip(request))
    return redirect(next_url)


@never_cache
def office_login_code(request):
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return redirect("office_login")
    user = User.objects.get(pk=pending["user"])
    form = OfficeCodeForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        ip = client_ip(request)
        if office_login_locked(username=pending["username"], ip=ip):
            request.session.pop(PENDING_KEY, None)
            error = LOCKED.format(minutes=settings.REFLOOP_OFFICE_LOCK_MINUTES)
            status = 429
        else:
            for device in TOTPDevice.objects.devices_for_user(user, confirmed=True):
                verified = verify_token(user, device.persistent_id, form.cleaned_data["token"])
                if verified:
                    request.session.pop(PENDING_KEY, None)
                    return _signed_in(request, user, verified, pending["username"], pending["next"])
            office_login_failed(username=pending["username"], ip=ip)
            error, status = WRONG_CODE, 400
    context = _context(form=form, error=error)
    return render(request, "portal/office/login_code.html", context, status=status)


@require_POST
def office_logout(request):
    logout(request)
    return redirect("office_login")


@never_cache
def office_accept(request, token: str):
    """The invitation link: set a password (the validators in settings), then sign in."""
    try:
        invitation = office_invitation_find(token=token)
    except DomainError as error:
        return render(
            request, "portal/office/gone.html", _context(message=error.message), status=error.status
        )
    form = AcceptForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            office_invite_accept(token=token, **form.cleaned_data)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, "Your account is ready. Sign in with your new password.")
            return redirect("office_login")
    context = _context(form=form, error=error, email=invitation.email)
    context["organization"] = invitation.organization.name
    return render(request, "portal/office/accept.html", context, status=400 if error else 200)


@never_cache
@office_required
def office_two_factor_setup(request):
    """Add an authenticator app (TOTP, as the staff app does): scan, then confirm with a code.
    From then on the office signs in with a code too."""
    user = request.user
    if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
        messages.info(request, "Two-factor sign-in is already on for your account.")
        return redirect("office_home")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by(
        "id"
    ).first() or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = OfficeCodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, "Two-factor sign-in is on.")
            return redirect("office_home")
        error = WRONG_CODE
    qr = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = qr.to_string(encoding="unicode")
    context = _context(
        form=form,
        error=error,
        qr_svg=svg[svg.find("<svg") :],
        secret=b32encode(device.bin_key).decode(),
        office=request.office,
    )
    return render(
        request, "portal/office/two_factor_setup.html", context, status=400 if error else 200
    )


# The office's referrals -----------------------------------------------------------------------


@never_cache
@office_required
def office_home(request):
    org = request.office.organization
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    rows = queries.office_referrals(organization_id=org.pk, page=page)
    has_next = len(rows) > queries.PAGE
    rows = rows[: queries.PAGE]
    inbox = queries.office_messages(organization_id=org.pk)
    # The messages name their patients too, and their referrals need not be on this page.
    shown = [(r.pk, r.patient_id) for r in rows]
    shown += [(m.referral_id, m.referral.patient_id) for m in inbox if m.referral_id]
    shown = list(dict.fromkeys(shown))  # each once, in the order shown
    if shown:
        access_log_write_many(
            request=request, action=Action.LIST, object_type="referral", rows=shown
        )
    else:
        access_log_write(
            request=request, action=Action.LIST, object_type="organization", object_id=org.pk
        )
    referrals = [(r, *queries.office_state(r)) for r in rows]
    context = _context(
        office=request.office,
        referrals=referrals,
        inbox=inbox,
        page=page,
        has_next=has_next,
    )
    return render(request, "portal/office/home.html", context)


def _own_referral(request, pk: int):
    referral = queries.office_referral(
        organization_id=request.office.organization_id, referral_id=pk
    )
    if referral is None:
        raise Http404("No such referral.")
    return referral


def _referral_page(request, referral, *, form=None, error="", status=200):
    access_log_write(
        request=request,
        action=Action.VIEW,
        object_type="referral",
        object_id=referral.pk,
        patient_id=referral.patient_id,
    )
    label, step = queries.office_state(referral)
    context = _context(
        office=request.office,
        referral=referral,
        state_label=label,
        next_step=step,
        checklist=queries.office_checklist_open(referral=referral),
        reports=queries.office_reports(referral_id=referral.pk),
        inbox=queries.office_messages(
            organization_id=request.office.organization_id, referral_id=referral.pk
        ),
        history=queries.office_history(referral=referral),
        form=form,
        error=error,
    )
    return render(request, "portal/office/referral.html", context, status=status)


@never_cache
@office_required
def office_referral(request, pk: int):
    return _referral_page(request, _own_referral(request, pk))


@require_POST
@office_required
def office_upload(request, pk: int):
    referral = _own_referral(request, pk)
    form = RecordsUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _referral_page(request, referral, form=form, status=400)
    filename, content = form.cleaned_data["file"]
    try:
        office_records_send(
            referral=referral, item_id=form.cleaned_data["item"], filename=filename, content=content
        )
    except DomainError as error:
        return _referral_page(request, referral, error=error.message, status=error.status)
    messages.success(request, f"Thank you: '{filename}' was received.")
    return redirect("office_referral", pk=referral.pk)


@never_cache
@office_required
def office_document(request, pk: int, document_pk: int):
    """A letter or report sent to the office about its own referral (nothing else on file)."""
    referral = _own_referral(request, pk)
    allowed = queries.office_message_document_ids(
        organization_id=request.office.organization_id, referral_id=referral.pk
    )
    document = Document.objects.filter(pk=document_pk, referral=referral).first()
    if document is None or document.pk not in allowed:
        raise Http404("No such document.")
    access_log_write(
        request=request,
        action=Action.DOWNLOAD,
        object_type="document",
        object_id=document.pk,
        patient_id=referral.patient_id,
    )
    sent = referral.reports_sent.filter(document_id=document.pk).first()
    if sent is not None:
        office_report_open(referral=referral, report_sent_id=sent.pk)
    stored = document.viewable or document.original
    content_type = "application/pdf" if document.viewable else document.content_type
    response = FileResponse(
        stored.open("rb"),
        as_attachment=True,
        # The file name carries the referral number and document id, never the patient's name.
        filename=f"{referral.number}-document-{document.pk}.{SUFFIX.get(content_type, 'bin')}",
        content_type=content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# Staff: invitations ----------------------------------------------------------------------------


@never_cache
@requires("assign_referral")
def office_invitations(request):
    """Managers and intake coordinators invite a person at a referring office."""
    form = InviteForm(request.POST or None)
    link, error = "", ""
    if request.method == "POST" and form.is_valid():
        try:
            _, link = office_invite(
                organization_id=form.cleaned_data["organization"].pk,
                email=form.cleaned_data["email"],
                actor=request.user,
            )
        except DomainError as exc:
            error = exc.message
        else:
            form = InviteForm()
    recent = OfficeInvitation.objects.select_related("organization")[:20]
    context = {"form": form, "link": link, "error": error, "invitations": recent}
    return render(request, "portal/office/invitations.html", context, status=400 if error else 200)
