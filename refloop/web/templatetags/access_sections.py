"""Reads for the referral page's access sections (authorization, contact attempts), so that the
sections stay in their own templates. Each is one query for the page, whatever it holds."""

from django import template

from refloop.access.models import ContactAttempt

register = template.Library()


@register.simple_tag
def authorization_of(referral):
    """The referral's authorization or None (the one-to-one is cached on the referral, so the
    action rules that already asked cost nothing more)."""
    return getattr(referral, "authorization", None)


@register.simple_tag
def contact_attempts_of(referral) -> list[ContactAttempt]:
    return list(
        ContactAttempt.objects.filter(referral_id=referral.pk)
        .select_related("by")
        .order_by("-occurred_at", "-id")
    )
