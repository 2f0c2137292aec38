from django.db import migrations

from refloop.core.append_only import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("gifts", "0001_ledger")]

    operations = [append_only_operation("gifts_giftlogentry")]
