# Indexes for the dashboard summary: live cases by status and by creation month, counted from the index alone.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0015_follow_up_indexes'),
        ('tenancy', '0003_user_password_reset_sent_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(('deleted_at__isnull', True)), fields=['company', 'status', 'owning_org'], name='case_live_status_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(('deleted_at__isnull', True)), fields=['company', 'created_at', 'origin', 'owning_org'], name='case_live_created_idx'),
        ),
    ]
