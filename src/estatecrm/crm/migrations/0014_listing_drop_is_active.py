from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("crm", "0013_listing_status_stations_features")]

    operations = [
        migrations.RemoveField(
            model_name="listing",
            name="features",
        ),
        migrations.RemoveField(
            model_name="listing",
            name="is_active",
        ),
        migrations.RemoveField(
            model_name="listing",
            name="line_station",
        ),
        migrations.RemoveField(
            model_name="listing",
            name="walk_minutes",
        ),
    ]
