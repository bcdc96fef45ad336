"""The case list's bulk change (do_bulk_update_cases): set-based, a fixed number of statements, and the
same outcome and audit events as the per-case actions it replaced (issue 9, finding 19)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError
from estatecrm.crm.actions import (
    BulkOperation,
    _trash_case,
    do_bulk_update_cases,
    do_set_case_tags,
    do_update_case,
    do_upsert_sub_status,
    do_upsert_tag,
)
from estatecrm.crm.choices import CaseStatus
from estatecrm.crm.models import Case, CaseTag
from estatecrm.tenancy.selectors import actor_for

# Statements of one bulk change (SAVEPOINT and RELEASE of its transaction included), whatever the number of cases.
EXPECTED_QUERIES = {
    # savepoint, SELECT cases FOR UPDATE, SELECT the previous assignee, and the 担当変更 engine (INSERT record, UPDATE cases,
    # SELECT sub-assignee links, SELECT open visits, INSERT items, UPDATE counts, INSERT record event), INSERT events, release
    BulkOperation.REASSIGN: 12,
    BulkOperation.SET_STATUS: 5,  # savepoint, SELECT cases FOR UPDATE, UPDATE cases, INSERT events, release
    BulkOperation.ADD_TAG: 7,  # savepoint, SELECT cases, SELECT links, INSERT links, UPDATE cases, INSERT events, release
    BulkOperation.REMOVE_TAG: 8,  # ... and a DELETE of the links from the removed one's position on
    # savepoint, SELECT cases FOR UPDATE, UPDATE cases, INSERT events, release, and the 名寄せ refresh of the cases'
    # customers (13 statements whatever their number: crm.duplicates.refresh_customers, its stored candidates read one
    # side of the pair at a time)
    BulkOperation.TRASH: 18,
}


def bulk_scenario(company, org, agent, count: int, operation: str):
    """`count` cases that the operation changes, and the operation's value."""
    tags = [do_upsert_tag(company=company, name=name)[0] for name in ("ペット", "単身", "法人")]
    following = do_upsert_sub_status(company=company, status=CaseStatus.FOLLOWING, name="電話待ち")[0]
    cases = [testing.make_case(company, org["SBY"], main_assignee=agent, tags=tags[:2] if operation == BulkOperation.ADD_TAG else tags,
                               sub_status=following, customer_name=f"佐藤 {i}", phones=(("mobile", f"090-1234-{5000 + i}"),),
                               emails=(f"sato{i}@example.jp",)) for i in range(count)]
    value = {
        BulkOperation.REASSIGN: testing.make_user(company, org["SBY"], email="b@acme.example.jp", name="新宿 二郎"),
        BulkOperation.SET_STATUS: CaseStatus.APPLYING,
        BulkOperation.ADD_TAG: tags[2],
        BulkOperation.REMOVE_TAG: tags[0],
        BulkOperation.TRASH: None,
    }[operation]
    return cases, value


@pytest.mark.parametrize("operation", BulkOperation.ALL)
def test_a_bulk_change_takes_the_same_number_of_statements_for_3_and_for_30_cases(company, org, agent, company_admin, operation):
    # given
    actor = actor_for(company_admin)
    cases, value = bulk_scenario(company, org, agent, 33, operation)
    counts = {}
    for selected in (cases[:3], cases[3:]):
        # when
        with CaptureQueriesContext(connection) as queries:
            changed = do_bulk_update_cases(actor=actor, case_ids=[case.pk for case in selected], operation=operation, value=value)
        # then
        assert changed == len(selected)
        counts[len(selected)] = len(queries)
    # PostgreSQL writes the engine's items with COPY, which the capture does not count.
    expected = EXPECTED_QUERIES[operation] - (operation == BulkOperation.REASSIGN and connection.vendor == "postgresql")
    assert counts == {3: expected, 30: expected}


def per_case_bulk_change(actor, case_ids, operation, value) -> int:
    """The bulk change as it was written before it became set-based: the per-case actions, case by case in pk order
    (except that adding a tag a case has already leaves its tags as they are; the loop removed it)."""
    from estatecrm.crm.actions import administered_cases

    cases = list(administered_cases(actor).filter(pk__in=list(case_ids), deleted_at__isnull=True).order_by("pk"))
    changed = 0
    for case in cases:
        if operation == BulkOperation.REASSIGN:
            changed += do_update_case(case=case, changes={"main_assignee": value}, acting_user=actor.user)
        elif operation == BulkOperation.SET_STATUS:
            changed += do_update_case(case=case, changes={"status": value}, acting_user=actor.user)
        elif operation == BulkOperation.TRASH:
            changed += _trash_case(case=case, acting_user=actor.user)
        else:
            tags = [link.tag for link in CaseTag.objects.for_company(actor.company_id).filter(case=case).select_related("tag").order_by("position")]
            wanted = (tags if value in tags else [*tags, value]) if operation == BulkOperation.ADD_TAG else [t for t in tags if t != value]
            changed += do_set_case_tags(case=case, tags=wanted, acting_user=actor.user)
    return changed


def varied_cases(company, org, agent, operation, tags, subs, target):
    """One of each kind of case the operation meets: changed in different ways, unchanged, trashed."""
    a, b, x = tags
    make = testing.make_case
    if operation == BulkOperation.REASSIGN:
        return [make(company, org["SBY"], main_assignee=agent), make(company, org["SBY"], main_assignee=target),
                make(company, org["SBY"], main_assignee=None), make(company, org["HQ"], main_assignee=agent, sub_status=subs[0])]
    if operation == BulkOperation.SET_STATUS:
        return [make(company, org["SBY"], status=CaseStatus.FOLLOWING, sub_status=subs[0]),
                make(company, org["SBY"], status=CaseStatus.APPLYING, sub_status=subs[1]),
                make(company, org["SBY"], status=CaseStatus.APPLYING), make(company, org["SBY"], status=CaseStatus.FOLLOWING),
                make(company, org["SBY"], status=CaseStatus.NEW)]
    if operation == BulkOperation.TRASH:
        trashed = make(company, org["SBY"])
        Case.objects.for_company(company).filter(pk=trashed.pk).update(deleted_at=timezone.now())
        return [make(company, org["SBY"]), trashed, make(company, org["SJK"])]
    cases = [make(company, org["SBY"], tags=case_tags) for case_tags in ([], [a, b], [x, a, b], [a, x, b], [a, b, x], [x])]
    gapped = make(company, org["SBY"])  # positions 0, 3, 5: the per-case action renumbers them
    for tag, position in ((a, 0), (x, 3), (b, 5)):
        CaseTag.objects.create(company=company, case=gapped, tag=tag, position=position)
    return [*cases, gapped]


def outcome(company, cases, updated_before, first_event_pk):
    """Per case: its fields, its tag links, whether updated_at moved, and its audit events (without ids and times)."""
    result = []
    for case in cases:
        fresh = Case.objects.for_company(company).get(pk=case.pk)
        events = []
        for event in AuditEvent.objects.for_company(company).filter(pk__gt=first_event_pk, object_type="crm.case",
                                                                      object_id=str(case.pk)).order_by("pk"):
            after = dict(event.after or {})
            if "deleted_at" in after:
                assert after["deleted_at"] == fresh.deleted_at.isoformat()
                after["deleted_at"] = "deleted_at"
            events.append((event.verb, event.actor_id, event.object_repr.split(" ", 1)[1], event.before, after, event.run_id))
        links = list(CaseTag.objects.for_company(company).filter(case=case).order_by("position").values_list("tag_id", "position"))
        result.append((fresh.status, fresh.sub_status_id, fresh.main_assignee_id, fresh.deleted_at is None, links,
                       fresh.updated_at != updated_before[case.pk], events))
    return result


@pytest.mark.parametrize("operation", BulkOperation.ALL)
def test_a_bulk_change_writes_what_the_per_case_actions_write(company, org, agent, company_admin, operation):
    # given: the same cases twice
    actor = actor_for(company_admin)
    tags = [do_upsert_tag(company=company, name=name)[0] for name in ("ペット", "単身", "法人")]
    subs = [do_upsert_sub_status(company=company, status=CaseStatus.FOLLOWING, name="電話待ち")[0],
            do_upsert_sub_status(company=company, status=CaseStatus.APPLYING, name="審査中")[0]]
    target = testing.make_user(company, org["SBY"], email="b@acme.example.jp", name="新宿 二郎")
    value = {BulkOperation.REASSIGN: target, BulkOperation.SET_STATUS: CaseStatus.APPLYING, BulkOperation.ADD_TAG: tags[2],
             BulkOperation.REMOVE_TAG: tags[2], BulkOperation.TRASH: None}[operation]
    bulk_cases = varied_cases(company, org, agent, operation, tags, subs, target)
    reference_cases = varied_cases(company, org, agent, operation, tags, subs, target)
    updated_before = dict(Case.objects.for_company(company).values_list("pk", "updated_at"))
    first_event_pk = AuditEvent.objects.for_company(company).order_by("-pk").values_list("pk", flat=True).first()
    # when
    changed = do_bulk_update_cases(actor=actor, case_ids=[case.pk for case in bulk_cases], operation=operation, value=value)
    reference_changed = per_case_bulk_change(actor, [case.pk for case in reference_cases], operation, value)
    # then
    assert changed == reference_changed
    assert changed >= 1
    assert outcome(company, bulk_cases, updated_before, first_event_pk) == outcome(company, reference_cases, updated_before, first_event_pk)


def test_a_bulk_reassign_refuses_a_case_whose_sub_status_belongs_to_another_status_and_changes_nothing(company, org, agent, company_admin):
    # given: as do_update_case refuses it (data written before the check existed)
    sub = do_upsert_sub_status(company=company, status=CaseStatus.APPLYING, name="審査中")[0]
    good = testing.make_case(company, org["SBY"], main_assignee=agent)
    odd = testing.make_case(company, org["SBY"], main_assignee=agent, status=CaseStatus.FOLLOWING)
    Case.objects.for_company(company).filter(pk=odd.pk).update(sub_status=sub)
    target = testing.make_user(company, org["SBY"], email="b@acme.example.jp", name="新宿 二郎")
    events = AuditEvent.objects.for_company(company).count()
    # when
    with pytest.raises(ApplicationError) as refused:
        do_bulk_update_cases(actor=actor_for(company_admin), case_ids=[good.pk, odd.pk], operation=BulkOperation.REASSIGN, value=target)
    # then
    assert refused.value.code == "sub_status_mismatch"
    assert set(Case.objects.for_company(company).values_list("main_assignee_id", flat=True)) == {agent.pk}
    assert AuditEvent.objects.for_company(company).count() == events


def test_a_bulk_add_of_a_tag_leaves_the_cases_that_already_have_it_as_they_are(company, org, agent, company_admin):
    # given
    pet, single = (do_upsert_tag(company=company, name=name)[0] for name in ("ペット", "単身"))
    tagged = testing.make_case(company, org["SBY"], main_assignee=agent, tags=[pet, single])
    untagged = testing.make_case(company, org["SBY"], main_assignee=agent, tags=[single])
    updated_at = Case.objects.for_company(company).get(pk=tagged.pk).updated_at
    events = AuditEvent.objects.for_company(company).filter(object_id=str(tagged.pk)).count()
    # when
    changed = do_bulk_update_cases(actor=actor_for(company_admin), case_ids=[tagged.pk, untagged.pk], operation=BulkOperation.ADD_TAG,
                                   value=pet)
    # then
    assert changed == 1
    assert list(CaseTag.objects.for_company(company).filter(case=tagged).order_by("position").values_list("tag_id", "position")) == [
        (pet.pk, 0), (single.pk, 1)]
    assert list(CaseTag.objects.for_company(company).filter(case=untagged).order_by("position").values_list("tag_id", "position")) == [
        (single.pk, 0), (pet.pk, 1)]
    assert Case.objects.for_company(company).get(pk=tagged.pk).updated_at == updated_at
    assert AuditEvent.objects.for_company(company).filter(object_id=str(tagged.pk)).count() == events
