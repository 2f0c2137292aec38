from refloop.alerts.queries import alerts_unread_count
from refloop.core.roles import user_roles


def roles(request):
    user = request.user
    if not user.is_authenticated:
        return {"user_roles": [], "can_see_phi": False}
    from refloop.web.views import landing_url

    return {
        "user_roles": sorted(r.label for r in user_roles(user)),
        "can_see_phi": user.has_perm("core.view_phi"),
        "home_url": landing_url(user),
    }


def alerts(request):
    """The unread count for the badge in the top bar: one query, on pages for signed-in people."""
    if not request.user.is_authenticated:
        return {}
    return {"alerts_unread": alerts_unread_count(user=request.user)}
