"""Public pages of events (no login; a random token is the only key, and no patient data is on
them or in their URLs):

- register: the event's open registration link (anyone given it: name, e-mail, office);
- invitation: an invitee's own link (their address is known: one click);
- unsubscribe: GET shows the address and a confirm button; POST (the button, or a mail client's
  RFC 8058 one-click POST, which carries no CSRF token) suppresses it at once, for good.
Registrations from one network are limited per hour, as the public e-referral form is.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from refloop.campaigns.queries import address_suppressed
from refloop.core.access_log import client_ip
from refloop.core.errors import DomainError
from refloop.outreach.enums import EVENT_KINDS, ActivityStatus
from refloop.outreach.models import Activity, Invitation
from refloop.outreach.services.events import invitation_unsubscribe, registration_add
from refloop.portal.services.throttle import rate_count_add

SCOPE = "event-register"
PER_HOUR = 30


class RegisterForm(forms.Form):
    name = forms.CharField(max_length=200, label="Your name")
    email = forms.EmailField(label="E-mail")
    office = forms.CharField(max_length=200, required=False, label="Practice or office")


def _context(activity: Activity | None = None, **extra) -> dict:
    seats = None
    if activity is not None and activity.capacity is not None:
        seats = max(0, activity.capacity - activity.registrations.count())
    return {
        "practice": settings.REFLOOP_PRACTICE_NAME,
        "practice_phone": settings.REFLOOP_PRACTICE_PHONE,
        "activity": activity,
        "open": activity is not None and activity.status == ActivityStatus.PLANNED,
        "seats": seats,
        **extra,
    }


def _limited(request) -> bool:
    count = rate_count_add(scope=SCOPE, key=client_ip(request) or "-", window=dt.timedelta(hours=1))
    return count > PER_HOUR


def _register(request, activity: Activity, form: RegisterForm, *, invitation=None):
    if _limited(request):
        phone = settings.REFLOOP_PRACTICE_PHONE
        error = f"Too many registrations from your network: call us at {phone}."
        return render(
            request,
            "outreach/register.html",
            _context(activity, form=form, error=error),
            status=429,
        )
    if not form.is_valid():
        return render(request, "outreach/register.html", _context(activity, form=form), status=400)
    try:
        registration, _ = registration_add(
            activity=activity,
            name=form.cleaned_data["name"],
            email=invitation.email if invitation else form.cleaned_data["email"],
            office=form.cleaned_data["office"],
            invitation=invitation,
        )
    except DomainError as error:
        context = _context(activity, form=form, error=error.message)
        return render(request, "outreach/register.html", context, status=error.status)
    return render(
        request, "outreach/registered.html", _context(activity, registration=registration)
    )


@never_cache
@require_http_methods(["GET", "POST"])
def register(request, token: str):
    # An activity edited from an event into a visit keeps its old token: its link shows nothing.
    activity = Activity.objects.filter(registration_token=token, kind__in=EVENT_KINDS).first()
    if activity is None:
        raise Http404("This link is not valid.")
    if request.method == "POST":
        return _register(request, activity, RegisterForm(request.POST))
    return render(request, "outreach/register.html", _context(activity, form=RegisterForm()))


def _invitation_or_404(token: str, *, event_only: bool = True) -> Invitation:
    """`event_only`: its activity is still an event (the registration page). An unsubscribe
    link works whatever became of the event (CAN-SPAM: honoured at any time)."""
    invitations = Invitation.objects.select_related("activity").filter(token=token)
    if event_only:
        invitations = invitations.filter(activity__kind__in=EVENT_KINDS)
    invitation = invitations.first()
    if invitation is None:
        raise Http404("This link is not valid.")
    return invitation


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    invitation = _invitation_or_404(token)
    activity = invitation.activity
    initial = {"name": invitation.name, "email": invitation.email}
    if request.method == "POST":
        data = request.POST.copy()
        data["email"] = invitation.email  # the invitee's own address, whatever was posted
        form = RegisterForm(data, initial=initial)
        return _register(request, activity, form, invitation=invitation)
    form = RegisterForm(initial=initial)
    form.fields["email"].disabled = True
    context = _context(activity, form=form, invitation=invitation)
    return render(request, "outreach/register.html", context)


@never_cache
@csrf_exempt  # RFC 8058: the mail provider's one-click POST has no CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    invitation = _invitation_or_404(token, event_only=False)
    if request.method == "POST":
        invitation_unsubscribe(invitation=invitation)
        return render(request, "outreach/unsubscribed.html", _context(email=invitation.email))
    already = address_suppressed(email=invitation.email)
    context = _context(email=invitation.email, already=already)
    return render(request, "outreach/unsubscribe.html", context)
