"""The limits CMS published, as far as they can be cited (refloop.gifts.rules).

Non-monetary compensation (42 CFR 411.357(k)): the issue's figures, which match CMS's "CPI-U
Updates" page for 2020-2024. Medical staff incidental benefits (411.357(m)(5), "less than" the
figure per occurrence): CMS's page for 2020-2024. Not seeded, on purpose: 2025 (both kinds) and
the 2026 incidental figure. An admin enters CMS's figure on the limits page; until then planning
in that year is refused.
"""

from decimal import Decimal

from django.db import migrations

CMS_PAGE = "CMS, Physician Self-Referral, CPI-U Updates"
NON_MONETARY = {
    2020: ("423", CMS_PAGE),
    2021: ("429", CMS_PAGE),
    2022: ("452", CMS_PAGE),
    2023: ("489", CMS_PAGE),
    2024: ("507", CMS_PAGE),
    2026: (
        "535",
        "CY 2026 figure as published (CPI-U adjusted); confirm on CMS's CPI-U Updates page",
    ),
}
INCIDENTAL = {
    2020: "36",
    2021: "37",
    2022: "39",
    2023: "42",
    2024: "44",
}


def seed(apps, schema_editor):
    GiftLimit = apps.get_model("gifts", "GiftLimit")
    rows = [
        GiftLimit(year=year, kind="non_monetary_annual", amount=Decimal(amount), source=source)
        for year, (amount, source) in NON_MONETARY.items()
    ] + [
        GiftLimit(
            year=year,
            kind="incidental_per_occurrence",
            amount=Decimal(amount),
            source=f"{CMS_PAGE} (less than ${amount} per occurrence)",
        )
        for year, amount in INCIDENTAL.items()
    ]
    GiftLimit.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("gifts", "0002_log_append_only")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
