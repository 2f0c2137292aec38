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
