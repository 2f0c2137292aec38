"""Fewer index entries per new referral (issue 4: a file import writes a million referrals; each
index is one more entry per row, and the import's PostgreSQL time is mostly these writes).

Dropped, because another index begins with the same column and serves the same lookups (the
foreign key's own `= id` / `IN (ids)` lookups, PROTECT and CASCADE checks included):
- referral.patient_id: by (patient_id, service_line_id) (patient_match's open referrals, the
  possible duplicates, the patient's referrals);
- referral.service_line_id: by (service_line_id, state, next_due_at) (the worklist by line);
- referral.assignee_id: by (assignee_id, state, next_due_at) ("mine" in the worklist);
- referral.referring_organization_id: by (referring_organization_id, state) (practice pages);
- referralevent.referral_id: by (referral_id, occurred_at) (a referral's timeline);
- referralclock.referral_id: by the unique (referral_id, kind) (a referral's clocks).

Made partial (only rows where set), because the column is empty on almost every row and every
lookup by a value implies it is set (PostgreSQL proves `col = x` implies `col IS NOT NULL`):
referral.receiving_clinician_id, referral.redirected_to_id, referralevent.corrects_id,
checklistitem.document_id.

On SQLite altering the event table rebuilds it, which drops its append-only triggers: they are
made again at the end.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from refloop.core.append_only import append_only_operation


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0005_patient_mrn_no_like_index"),
        ("referrals", "0005_alter_referralevent_kind"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="checklistitem",
            name="document",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to="referrals.document",
            ),
        ),
        migrations.AlterField(
            model_name="referral",
            name="assignee",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="referral",
            name="patient",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="referrals",
                to="directory.patient",
            ),
        ),
        migrations.AlterField(
            model_name="referral",
            name="receiving_clinician",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="referrals_received",
                to="directory.clinician",
            ),
        ),
        migrations.AlterField(
            model_name="referral",
            name="redirected_to",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="redirected_from",
                to="referrals.referral",
            ),
        ),
        migrations.AlterField(
            model_name="referral",
            name="referring_organization",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="referrals_sent",
                to="directory.organization",
            ),
        ),
        migrations.AlterField(
            model_name="referral",
            name="service_line",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="referrals",
                to="directory.serviceline",
            ),
        ),
        migrations.AlterField(
            model_name="referralclock",
            name="referral",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="clocks",
                to="referrals.referral",
            ),
        ),
        migrations.AlterField(
            model_name="referralevent",
            name="corrects",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="corrections",
                to="referrals.referralevent",
            ),
        ),
        migrations.AlterField(
            model_name="referralevent",
            name="referral",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="referrals.referral",
            ),
        ),
        migrations.AddIndex(
            model_name="checklistitem",
            index=models.Index(
                condition=models.Q(("document__isnull", False)),
                fields=["document"],
                name="checklist_document",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("receiving_clinician__isnull", False)),
                fields=["receiving_clinician"],
                name="referral_receiving_clinician",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("redirected_to__isnull", False)),
                fields=["redirected_to"],
                name="referral_redirected_to",
            ),
        ),
        migrations.AddIndex(
            model_name="referralevent",
            index=models.Index(
                condition=models.Q(("corrects__isnull", False)),
                fields=["corrects"],
                name="event_corrects",
            ),
        ),
        # SQLite rebuilt the event table above, without its triggers.
        append_only_operation("referrals_referralevent"),
    ]
