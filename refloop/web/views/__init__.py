"""Views of the staff app: each parses input, calls one service or query, renders the result."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def requires(*permissions: str):
    """Signed in, and holding one of the core permissions; otherwise 403 (never a PHI page)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not any(request.user.has_perm(f"core.{p}") for p in permissions):
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def landing_url(user) -> str:
    """The first page each role can use: patient work, or the program's aggregates."""
    if user.has_perm("core.view_phi"):
        return reverse("worklist")
    if user.has_perm("core.view_aggregates"):
        return reverse("program_overview")
    return reverse("welcome")


def safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def query_with(params, **changes) -> str:
    """The current GET parameters with some changed: links keep ids and codes only."""
    query = params.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value not in (None, ""):
            query[key] = str(value)
    return query.urlencode()
