from django.db import migrations

from refloop.core.append_only import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial")]
    operations = [append_only_operation("referrals_referralevent")]
