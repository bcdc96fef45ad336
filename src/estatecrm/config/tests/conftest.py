"""Fixtures of the generated route tests (roles, redirects)."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from estatecrm.config.tests.routes import Roles
from estatecrm.config.tests.test_isolation import CompanyA
from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm import actions as crm_actions
from estatecrm.crm.models import Attachment, Introduction, Listing, ListingPhoto
from estatecrm.inquiries.models import Inquiry
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.actions import do_upsert_workgroup
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.models import Membership
from estatecrm.tenancy.selectors import actor_for
from estatecrm.tenancy.tokens import do_create_api_token


@pytest.fixture
def roles(company, org, company_admin, agent):
    from estatecrm.leads.models import DoNotCallEntry, SavedMapping
    from estatecrm.legacy.choices import RUN_KIND as LEGACY_RUN_KIND

    users = {
        "agent": agent,
        "org_admin": testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby-admin@acme.example.jp", name="渋谷 店長"),
        "other_unit_admin": testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp", name="新宿 店長"),
        "company_admin": company_admin,
    }
    subject = testing.make_user(company, org["SBY"], email="subject@acme.example.jp", name="渋谷 二郎")
    case = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="渋谷 顧客")
    rank, _ = crm_actions.do_upsert_rank(company=company, name="ランクA")
    tag, _ = crm_actions.do_upsert_tag(company=company, name="タグA")
    sub_status, _ = crm_actions.do_upsert_sub_status(company=company, status="追客中", name="サブA")
    custom_field, _ = crm_actions.do_upsert_custom_field(company=company, name="項目A", field_type="text")
    project, _ = crm_actions.do_upsert_project(company=company, name="プロジェクトA", custom_fields=[custom_field])
    workgroup, _ = do_upsert_workgroup(company=company, name="チームA", members=[subject])
    with company_scope(company):
        visit = crm_actions.do_book_visit(actor=actor_for(company_admin), case=case, visit_at=timezone.now())
    stored = default_storage.save("attachments/roles-a.txt", ContentFile(b"a"))
    attachment = Attachment.objects.create(company=company, case=case, file=stored, original_name="a.txt", size=1,
                                           uploaded_at=timezone.now())
    listing = Listing.objects.create(company=company, ref="L-1", name="物件A")
    photo = ListingPhoto.objects.create(company=company, listing=listing, file=default_storage.save("listings/roles-a.png", ContentFile(b"\x89PNG\r\n\x1a\n")),
                                        original_name="a.png", size=8, content_type="image/png", uploaded_at=timezone.now())
    introduction = Introduction.objects.create(company=company, case=case, listing=listing, listing_ref="L-1", listing_name="物件A")
    # A lead import the agent started (when they were an administrator): theirs to read among the runs.
    run = Run.objects.create(company=company, kind="lead_import", status=RunStatus.COMPLETED, token="lead-run", created_by=agent,
                             source_name="leads.csv", params={"project_id": project.pk, "org_unit_id": org["SBY"].pk},
                             finished_at=timezone.now())
    legacy_run = Run.objects.create(company=company, kind=LEGACY_RUN_KIND, status=RunStatus.COMPLETED, token="legacy-run",
                                    created_by=company_admin, source_name="bundle.zip", params={"org_unit_id": org["SBY"].pk},
                                    finished_at=timezone.now())
    entry = DoNotCallEntry.objects.create(company=company, name="架電禁止 リード", phone="+819000000000", phone_raw="090-0000-0000")
    saved_mapping = SavedMapping.objects.create(company=company, project=project, name="マッピングA", mapping={"氏名": "name"})
    tokens = {role: do_create_api_token(user=user, name=f"roles-{role}", acting_user=user) for role, user in users.items()}
    from estatecrm.inquiries.models import InquirySource

    source = InquirySource.objects.create(company=company, code="suumo", name="SUUMO", org_unit=org["SBY"], default_assignee=agent)
    # A mail in 「取り込めなかった反響」 that no source recognized (no unit yet: every admin may sort it out).
    inquiry = Inquiry.objects.create(company=company, channel="eml", status="unmatched", received_at=timezone.now(), sender="a@example.jp",
                                     subject="反響A", message_id="a@example.jp",
                                     raw=b"From: a@example.jp\r\nSubject: a\r\nMessage-ID: <a@example.jp>\r\n\r\na\r\n")
    from estatecrm.dedup.tests.page_factories import dedup_objects

    dismissal, merge = dedup_objects(company, org["SBY"], case, agent)
    objects = CompanyA({
        "dismissal": dismissal, "merge": merge,
        "company": company, "case": case, "customer": case.customer, "visit": visit, "attachment": attachment, "listing": listing,
        "photo": photo, "introduction": introduction, "unit": org["SBY"], "user": subject, "membership": Membership.objects.for_company(company).get(user=subject),
        "workgroup": workgroup, "rank": rank, "tag": tag, "sub_status": sub_status, "custom_field": custom_field,
        "project": project, "run": run, "legacy_run": legacy_run, "entry": entry, "saved_mapping": saved_mapping,
        "tokens": tokens, "token": None, "source": source, "inquiry": inquiry,
    })
    return Roles(users=users, objects=objects)


