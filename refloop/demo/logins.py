"""One demo login per role, with TOTP for the roles that must use a second factor.

For a local demo only: every account shares one published password, and the TOTP keys are fixed
so that `manage.py refloop_demo_code <username>` can print the current code for a newcomer who
has no authenticator app.
"""

from __future__ import annotations

import hashlib
import sys

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from refloop.core.roles import TWO_FACTOR_ROLES, Role, roles_sync

DEMO_PASSWORD = "refloop-demo"
DEVICE_NAME = "Demo authenticator"

# (role, username, first name, last name): synthetic staff.
DEMO_LOGINS = (
    (Role.INTAKE, "intake", "Ines", "Ashdown"),
    (Role.TRIAGE, "triage", "Theo", "Halloran"),
    (Role.SCHEDULER, "scheduler", "Sofia", "Redfern"),
    (Role.CARE_TEAM, "careteam", "Caleb", "Winslow"),
    (Role.MANAGER, "manager", "Mabel", "Langford"),
    (Role.LIAISON, "liaison", "Leon", "Fairbanks"),
    (Role.COMPLIANCE, "compliance", "Clara", "Whitlock"),
    (Role.ADMIN, "admin", "Adrian", "Sutcliffe"),
)


def demo_totp_key(username: str) -> str:
    """A fixed 20-byte key (hex) per demo user: the same on every machine, by design."""
    return hashlib.sha1(f"refloop-demo-totp:{username}".encode()).hexdigest()


def demo_logins_ensure() -> dict[str, User]:
    """Create the demo users if missing (an existing user keeps the password it has)."""
    if Group.objects.filter(name__in=[role.label for role in Role]).count() < len(Role):
        roles_sync()
    users = {}
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow by design
    for role, username, first, last in DEMO_LOGINS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.org"},
        )
        if created:
            user.password = password
        if role == Role.ADMIN:
            user.is_staff = user.is_superuser = True
        user.save()
        user.groups.add(Group.objects.get(name=role.label))
        if role in TWO_FACTOR_ROLES:
            TOTPDevice.objects.get_or_create(
                user=user,
                name=DEVICE_NAME,
                defaults={"key": demo_totp_key(username), "confirmed": True},
            )
        users[role] = user
    return users


def demo_totp_code(username: str) -> str | None:
    """The current code of the user's demo authenticator, or None if they have none."""
    device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
    if device is None:
        return None
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                drift=device.drift)  # fmt: skip
    return f"{code:0{device.digits}d}"


def demo_logins_print(out=None) -> None:
    """The table of demo logins that `refloop_demo` and `make run` show."""
    out = out or sys.stdout
    rows = [("Role", "Username", "Password", "Second factor")]
    for role, username, _, _ in DEMO_LOGINS:
        factor = f"2FA code: run `make code USER={username}`" if role in TWO_FACTOR_ROLES else ""
        rows.append((role.label, username, DEMO_PASSWORD, factor))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    out.write(
        "\nDemo logins (synthetic demo data; this shared password is for a local demo only):\n"
    )
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  " + "  ".join(cells + [row[3]]).rstrip() + "\n")
    out.write("\n")
