import datetime as dt

from refloop.content.enums import ContentState
from refloop.content.models import ContentItem, ContentVersion


def content_usable(*, item: ContentItem, on: dt.date) -> ContentVersion | None:
    """The item's newest version that is approved and unexpired on `on`, if any."""
    return (
        item.versions.filter(state=ContentState.APPROVED, expires_on__gte=on)
        .order_by("-number")
        .first()
    )
