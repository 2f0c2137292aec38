from refloop.campaigns.models import Suppression


def address_suppressed(*, email: str) -> bool:
    return Suppression.objects.filter(email=email.strip().lower()).exists()
