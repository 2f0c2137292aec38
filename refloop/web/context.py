from refloop.core.roles import user_roles


def roles(request):
    user = request.user
    return {
        "user_roles": sorted(r.label for r in user_roles(user)),
        "can_see_phi": user.is_authenticated and user.has_perm("core.view_phi"),
    }
