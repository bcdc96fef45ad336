from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("pipeline", "0003_drop_ledger_target_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="lease",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
