"""Roles are Django groups made of the permissions in core.RolePermissions (DESIGN.md, Who uses it).

Liaison and compliance roles have no `view_phi`: they see no patient data anywhere.
"""

from django.db import models


class Role(models.TextChoices):
    INTAKE = "intake", "Intake coordinator"
    TRIAGE = "triage", "Triage clinician"
    SCHEDULER = "scheduler", "Scheduler"
    CARE_TEAM = "care_team", "Care team"
    MANAGER = "manager", "Practice manager"
    LIAISON = "liaison", "Physician liaison"
    COMPLIANCE = "compliance", "Compliance reviewer"
    ADMIN = "admin", "Admin"


ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.INTAKE: {"view_phi", "receive_referral", "cancel_referral", "assign_referral"},
    Role.TRIAGE: {"view_phi", "triage_referral"},
    Role.SCHEDULER: {"view_phi", "schedule_referral", "cancel_referral"},
    Role.CARE_TEAM: {"view_phi", "close_referral"},
    Role.MANAGER: {
        "view_phi",
        "receive_referral",
        "triage_referral",
        "schedule_referral",
        "close_referral",
        "cancel_referral",
        "assign_referral",
        "correct_event",
        "view_access_log",
        "view_aggregates",
        "do_outreach",
        "decide_access_hold",
    },
    Role.LIAISON: {"view_aggregates", "do_outreach"},
    Role.COMPLIANCE: {"view_aggregates", "review_content", "approve_gifts"},
}
# Admins can do everything a manager or compliance reviewer can, and enter the gift limits.
ROLE_PERMISSIONS[Role.ADMIN] = (
    ROLE_PERMISSIONS[Role.MANAGER] | ROLE_PERMISSIONS[Role.COMPLIANCE] | {"edit_gift_limits"}
)

# Roles that must sign in with a second factor (TOTP).
TWO_FACTOR_ROLES = {Role.MANAGER, Role.ADMIN}

# People at a referring office (the portal, refloop.portal): a group with no permission at all,
# so no staff page or service lets them in; the portal's own views check their organization.
OFFICE_GROUP = "Referring office"


def roles_sync() -> None:
    """Create the role groups and give each exactly its permissions."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from refloop.core.models import RolePermissions

    content_type = ContentType.objects.get_for_model(RolePermissions, for_concrete_model=False)
    perms = {p.codename: p for p in Permission.objects.filter(content_type=content_type)}
    if not perms:  # permissions are created by auth's own post_migrate, which may run after ours
        from django.apps import apps
        from django.contrib.auth.management import create_permissions

        create_permissions(apps.get_app_config("core"), verbosity=0)
        perms = {p.codename: p for p in Permission.objects.filter(content_type=content_type)}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.label)
        group.permissions.set([perms[c] for c in ROLE_PERMISSIONS[role]])
    Group.objects.get_or_create(name=OFFICE_GROUP)[0].permissions.clear()


def user_roles(user) -> set[Role]:
    if not user.is_authenticated:
        return set()
    by_label = {role.label: role for role in Role}
    return {
        by_label[name] for name in user.groups.values_list("name", flat=True) if name in by_label
    }


def user_can(user, capability: str) -> bool:
    return user.is_authenticated and user.has_perm(f"core.{capability}")
