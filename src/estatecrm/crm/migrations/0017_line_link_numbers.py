"""LINE link numbers (crm.link_numbers): the per-company sequence, a number for every existing
customer, then uniqueness per company. Also: a customer's LINE block time, the activity kind 反響."""

import secrets

import django.db.models.deletion
from django.db import migrations, models

SPACE = 10**8
STEP = 61_803_397  # crm.link_numbers.LINK_NUMBER_STEP (copied: a migration does not follow later code)
CHUNK = 2000


def number_existing_customers(apps, schema_editor):
    Customer = apps.get_model("crm", "Customer")
    Sequence = apps.get_model("crm", "LinkNumberSequence")
    companies = Customer.objects.filter(line_link_number="").values_list("company_id", flat=True).distinct().order_by()
    for company_id in list(companies):
        sequence, _ = Sequence.objects.get_or_create(company_id=company_id, defaults={"offset": secrets.randbelow(SPACE)})
        serial = sequence.last_serial
        while True:
            chunk = list(Customer.objects.filter(company_id=company_id, line_link_number="").order_by("pk").only("pk")[:CHUNK])
            if not chunk:
                break
            for customer in chunk:
                serial += 1
                customer.line_link_number = f"{(serial * STEP + sequence.offset) % SPACE:08d}"
            Customer.objects.bulk_update(chunk, ["line_link_number"], batch_size=500)
        Sequence.objects.filter(pk=sequence.pk).update(last_serial=serial)


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0016_dashboard_summary_indexes'),
        ('tenancy', '0004_user_inquiry_mail'),
    ]

    operations = [
        migrations.CreateModel(
            name='LinkNumberSequence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('last_serial', models.PositiveBigIntegerField(default=0)),
                ('offset', models.PositiveBigIntegerField()),
                ('company', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+',
                                              to='tenancy.company', verbose_name='company')),
            ],
        ),
        migrations.AddConstraint(
            model_name='linknumbersequence',
            constraint=models.UniqueConstraint(fields=('company',), name='linknumbersequence_company_unique'),
        ),
        migrations.AddField(
            model_name='customer',
            name='line_blocked_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='blocked on LINE'),
        ),
        migrations.AlterField(
            model_name='activity',
            name='kind',
            field=models.CharField(choices=[('call', 'Phone call'), ('email_out', 'E-mail sent'), ('email_in', 'E-mail received'), ('visit', 'Office visit'), ('showing', 'Showing'), ('visit_appointment', 'Visit appointment'), ('line', 'LINE'), ('note', 'Note'), ('system', 'System event'), ('inquiry', 'Inquiry')], max_length=20, verbose_name='kind'),
        ),
        migrations.RunPython(number_existing_customers, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name='customer',
            constraint=models.UniqueConstraint(condition=models.Q(('line_link_number', ''), _negated=True), fields=('company', 'line_link_number'),
                                               name='customer_line_link_unique'),
        ),
    ]
