import pytest

from estatecrm.audit.actions import record_event
from estatecrm.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_events_cannot_be_changed_or_deleted(company, company_admin):
    # given
    event = record_event(company_id=company.pk, actor=company_admin, verb="update", object_type="crm.case", object_id=1,
                         before={"status": "新規"}, after={"status": "追客中"})
    # when / then
    event.verb = "delete"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        AuditEvent.objects.for_company(company).update(verb="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.for_company(company).delete()
    stored = AuditEvent.objects.for_company(company).get(pk=event.pk)
    assert (stored.verb, stored.before, stored.after) == ("update", {"status": "新規"}, {"status": "追客中"})


def test_tenant_manager_fails_closed_without_a_company_in_scope(company, company_admin):
    from estatecrm.core.scope import company_scope

    record_event(company_id=company.pk, actor=company_admin, verb="create", object_type="x", object_id=1)
    assert AuditEvent.objects.count() == 0
    with company_scope(company):
        assert AuditEvent.objects.filter(object_type="x").count() == 1
    assert AuditEvent.objects.unscoped().filter(object_type="x").count() == 1
