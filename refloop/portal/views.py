"""Pages patients reach from a link in a text, e-mail or letter, without a login.

They show the practice's name, the visit's date, time and place, and one button (three on a
manage link): never the patient's name, the service or anything else about the referral. Every
view of a visit is written to the access log as "patient-link".
"""

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from refloop.access.models import PatientLink
from refloop.access.queries import patient_link_for_token
from refloop.access.services import patient_link_use, waitlist_offer_accept
from refloop.access.services.instructions import visit_location
from refloop.access.services.links import patient_link_problem
from refloop.access.services.patient_channels import patient_zone, visit_when_long
from refloop.core.access_log import access_log_write
from refloop.core.errors import DomainError
from refloop.core.models import AccessLogEntry

ACTOR = "patient-link"
Purpose = PatientLink.Purpose
CHOICES = {
    Purpose.CONFIRM: "Confirm my visit",
    Purpose.CANCEL: "Cancel my visit",
    Purpose.RESCHEDULE: "Ask for another time",
    Purpose.ACCEPT_OFFER: "Take this time",
}


def _practice() -> dict:
    return {
        "practice": settings.REFLOOP_PRACTICE_NAME,
        "practice_phone": settings.REFLOOP_PRACTICE_PHONE,
    }


def _gone(request, message: str, status: int):
    return render(request, "portal/gone.html", {**_practice(), "message": message}, status=status)


def _visit(link: PatientLink) -> dict:
    """The one thing the page shows: when and where (the offered slot, for an offer)."""
    zone = patient_zone(link.appointment.referral.patient)
    if link.purpose == Purpose.ACCEPT_OFFER:
        slot = link.offer.slot
        return {"when": visit_when_long(slot.starts_at, zone), "where": slot.location}
    appointment = link.appointment
    return {
        "when": visit_when_long(appointment.starts_at, zone),
        "where": visit_location(appointment),
    }


@never_cache
@csrf_protect
def patient_link(request, token: str):
    link = patient_link_for_token(token)
    if link is None:
        return _gone(request, "This link is not valid.", 404)
    access_log_write(
        request=request,
        action=AccessLogEntry.Action.VIEW,
        object_type="appointment",
        object_id=link.appointment_id,
        patient_id=link.appointment.referral.patient_id,
        actor_name=ACTOR,
        path="/p/(token)/",  # the token is a key to the visit: never written down
    )
    if request.method == "POST":
        return _use(request, link, token)
    problem = patient_link_problem(link, timezone.now())
    if problem is not None:
        return _gone(request, problem.message, problem.status)
    choices = (
        [Purpose.CONFIRM, Purpose.CANCEL, Purpose.RESCHEDULE]
        if link.purpose == Purpose.MANAGE
        else [link.purpose]
    )
    return render(
        request,
        "portal/link.html",
        {
            **_practice(),
            **_visit(link),
            "offer": link.purpose == Purpose.ACCEPT_OFFER,
            "choices": [(c, CHOICES[c]) for c in choices],
        },
    )


def _use(request, link: PatientLink, token: str):
    try:
        if link.purpose == Purpose.ACCEPT_OFFER:
            waitlist_offer_accept(token=token)
            done = "The earlier time is yours: your visit has moved to it."
        else:
            done = patient_link_use(token=token, choice=request.POST.get("choice", ""))
    except DomainError as error:
        return _gone(request, error.message, error.status)
    context = {**_practice(), "message": done}
    if link.purpose == Purpose.ACCEPT_OFFER:
        context.update(_visit(link))
    return render(request, "portal/done.html", context)
