"""No path deletes a case without putting it in the trash (issue 13): every staff path, watched by a
post_delete receiver on Case and Customer; and a main assignee cannot be deleted under their cases."""

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.db.models.signals import post_delete

from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError
from estatecrm.crm.models import Case, Customer
from estatecrm.staff import actions
from estatecrm.tenancy.actions import do_set_user_active
from estatecrm.tenancy.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def deletions():
    deleted = []

    def record(sender, instance, **kwargs):
        deleted.append((sender.__name__, instance.pk))

    for model in (Case, Customer):
        post_delete.connect(record, sender=model, weak=False, dispatch_uid=f"no-lost-{model.__name__}")
    yield deleted
    for model in (Case, Customer):
        post_delete.disconnect(sender=model, dispatch_uid=f"no-lost-{model.__name__}")


def test_no_staff_path_deletes_a_case_or_a_customer(office, deletions):
    # given
    admin = office.actor()
    live = Case.objects.for_company(office.company).filter(deleted_at__isnull=True)
    count = live.count()
    newcomer = testing.make_user(office.company, office.units["YKH"], email="ykh@acme.example.jp", name="横浜 五郎")
    # when: transfer both ways, reassign, undo, retire both ways, and a plain deactivation
    actions.do_transfer_agent(actor=admin, agent=office.agent, to_unit=office.units["SJK"], reassign_to=office.colleague)
    actions.do_transfer_agent(actor=admin, agent=office.colleague, to_unit=office.units["YKH"], with_cases=True)
    record = actions.do_reassign_cases(actor=admin, from_user=office.colleague, to_user=newcomer).reassignment
    actions.do_undo_reassignment(actor=admin, reassignment=record)
    actions.do_reassign_cases(actor=admin, from_user=office.colleague, to_user=newcomer)
    actions.do_retire_agent(actor=admin, agent=newcomer, reassign_to=office.colleague)
    actions.do_retire_agent(actor=admin, agent=office.colleague, trash_cases=True)
    with transaction.atomic(), pytest.raises(ApplicationError):
        do_set_user_active(user=office.admin, is_active=False, acting_user=office.admin)
    # then: every case is still there, live or in the trash
    assert deletions == []
    assert Case.objects.for_company(office.company).count() == count
    assert live.count() == count - 4  # the colleague's 4 cases (3 of the agent's, 1 their own) are in the trash


def test_deleting_a_user_who_is_a_main_assignee_is_refused_by_the_database(office, deletions):
    # when
    with transaction.atomic(), pytest.raises(ProtectedError):
        User.objects.get(pk=office.agent.pk).delete()
    # then
    assert deletions == []
    assert Case.objects.for_company(office.company).filter(main_assignee=office.agent).count() == 3
