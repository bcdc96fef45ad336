# Adds 次回対応 and the last contact to cases, the direction to activities, and fills both from history.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0006_master_versions'),
    ]

    operations = [
        migrations.AddField(
            model_name='activity',
            name='direction',
            field=models.CharField(blank=True, choices=[('outbound', 'Outbound'), ('inbound', 'Inbound')], max_length=8, verbose_name='direction'),
        ),
        migrations.AddField(
            model_name='case',
            name='last_contact_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='last contact'),
        ),
        migrations.AddField(
            model_name='case',
            name='next_action',
            field=models.CharField(blank=True, max_length=200, verbose_name='next action'),
        ),
        migrations.AddField(
            model_name='case',
            name='next_action_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='next action at'),
        ),
        # Set work: the last contact is the latest done contact activity; mails carry their direction.
        migrations.RunSQL(
            """
            UPDATE crm_case SET last_contact_at = (
                SELECT MAX(a.occurred_at) FROM crm_activity a
                WHERE a.company_id = crm_case.company_id AND a.case_id = crm_case.id AND a.is_done
                  AND a.kind IN ('call', 'email_out', 'email_in', 'visit', 'showing', 'line', 'visit_appointment')
            )
            """,
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            """
            UPDATE crm_activity SET direction = CASE kind WHEN 'email_out' THEN 'outbound' ELSE 'inbound' END
            WHERE kind IN ('email_out', 'email_in')
            """,
            migrations.RunSQL.noop,
        ),
    ]
