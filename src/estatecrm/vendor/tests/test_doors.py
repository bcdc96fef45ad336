"""Abort and revert of a move-in phase from every door: `estatecrm vendor revert|abort`, the move-in page
(「中止」, 「元に戻す」 through its confirmation) and POST /api/v1/vendor/move-ins/{id}/phases/{phase}/revert|abort.
Each goes through vendor/actions.py (do_start_revert, do_abort_import, check_revertible)."""

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Listing
from estatecrm.crm.tests.test_api import Api
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.reverts import latest_revert
from estatecrm.vendor import actions
from estatecrm.vendor.models import MoveIn
from estatecrm.vendor.tests import loading
from estatecrm.vendor.tests.packages import template_package
from estatecrm.vendor.tests.verify_factories import make_loaded_move_in

pytestmark = pytest.mark.django_db
jp_agents = loading.jp_agents  # a fixture
ADMIN = "admin@acme.example.jp"


def load_both(company, user, tmp_path) -> tuple[MoveIn, Run, Run]:
    """The JAPANESE template package loaded in both phases (executed here)."""
    path = template_package(tmp_path / "esticrm.zip", as_zip=True)
    runs = []
    with company_scope(company):
        for phase in ("active", "archive"):
            started = actions.do_start_import(user, company, path, "template", phase=phase, background=False)
            assert execute_run(started.run.pk) == RunStatus.COMPLETED
            started.run.refresh_from_db()
            runs.append(started.run)
    return MoveIn.objects.for_company(company).get(pk=started.move_in.pk), runs[0], runs[1]


def vendor(*args, expect_exit: int = 0) -> dict:
    out, err = io.StringIO(), io.StringIO()
    if expect_exit:
        with pytest.raises(CommandError) as refused:
            call_command("vendor", *args, "--json", stdout=out, stderr=err)
        assert refused.value.returncode == expect_exit
    else:
        call_command("vendor", *args, "--json", stdout=out, stderr=err)
    return json.loads(out.getvalue())


def client_of(user, language="ja") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_cli_revert_in_order_and_abort(tmp_path, company, company_admin, jp_agents):
    _move_in, active, archive = load_both(company, company_admin, tmp_path)
    listings = Listing.objects.for_company(company).count()
    # the active phase is refused while the archive phase stands: exit 2, nothing reverted
    refused = vendor("revert", str(active.pk), "--company", "acme", "--as", ADMIN, expect_exit=2)
    assert refused["refused"] == "not_revertible" and f"#{archive.pk}" in refused["message"]
    assert latest_revert(active) is None
    # the archive phase is reverted here
    result = vendor("revert", str(archive.pk), "--company", "acme", "--as", ADMIN)
    assert set(result) == {"revert_run_id", "run_id", "status", "counts"}
    assert (result["run_id"], result["status"]) == (archive.pk, "completed")
    assert result["counts"]["listings_removed"] == 1 and result["counts"]["activities_removed"] == 4
    archive.refresh_from_db()
    assert archive.status == RunStatus.REVERTED and Listing.objects.for_company(company).count() == listings - 1
    # a second revert of it is refused
    assert vendor("revert", str(archive.pk), "--company", "acme", "--as", ADMIN, expect_exit=2)["refused"] == "not_revertible"
    # the active phase, left to a worker: started (pending), then aborted through the phase run's id before a worker took it
    started = vendor("revert", str(active.pk), "--company", "acme", "--as", ADMIN, "--no-wait")
    assert started["status"] == "pending"
    aborted = vendor("abort", str(active.pk), "--company", "acme", "--as", ADMIN)
    assert aborted == {"run_id": started["revert_run_id"], "kind": "vendor_import_revert", "status": "aborted", "abort_requested": True}
    active.refresh_from_db()
    assert active.status == RunStatus.COMPLETED and active.reverted_at is None
    # nothing runs any more: refused
    assert vendor("abort", str(active.pk), "--company", "acme", "--as", ADMIN, expect_exit=2)["refused"] == "run_finished"


def test_cli_abort_a_running_phase_and_refusals(tmp_path, company, company_admin, agent, jp_agents, other_company):
    path = template_package(tmp_path / "esticrm.zip", as_zip=True)
    with company_scope(company):
        run = actions.do_start_import(company_admin, company, path, "template").run  # waits for a worker
    assert run.status == RunStatus.PENDING
    # refusals: another company's run, an unknown company, a user who is no administrator
    other = other_company["company"].code
    assert vendor("abort", str(run.pk), "--company", other, "--as", other_company["admin"].email, expect_exit=2)["refused"] == "run_unknown"
    assert vendor("abort", str(run.pk), "--company", "nope", "--as", ADMIN, expect_exit=2)["refused"] == "unknown_company"
    assert vendor("abort", str(run.pk), "--company", "acme", "--as", agent.email, expect_exit=2)["refused"] == "permission_denied"
    assert vendor("revert", "12x", "--company", "acme", "--as", ADMIN, expect_exit=2)["refused"] == "run_unknown"
    run.refresh_from_db()
    assert run.abort_requested_at is None
    # the abort: a run no worker took yet stops at once
    result = vendor("abort", str(run.pk), "--company", "acme", "--as", ADMIN)
    assert result == {"run_id": run.pk, "kind": "vendor_import", "status": "aborted", "abort_requested": True}
    # a refusal without --json: one line on stderr (the CommandError), nothing on stdout
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("vendor", "revert", str(run.pk + 1000), "--company", "acme", "--as", ADMIN, stdout=out, stderr=io.StringIO())
    assert refused.value.returncode == 2 and "\n" not in str(refused.value) and out.getvalue() == ""


def test_page_revert_through_the_confirmation(tmp_path, company, company_admin, jp_agents):
    move_in, active, archive = load_both(company, company_admin, tmp_path)
    client = client_of(company_admin, "en")
    page = client.get(reverse("vendor:move-in", args=[move_in.pk])).content.decode()
    # only the archive phase offers 「元に戻す」; nothing runs, so no 「中止」
    assert 'data-testid="revert-link-archive"' in page and 'data-testid="revert-link-active"' not in page
    assert 'data-testid="abort-' not in page
    # the active phase: the confirmation says the archive phase goes first and offers no button; a POST is refused
    confirm = client.get(reverse("vendor:phase-revert", args=[move_in.pk, "active"])).content.decode()
    assert 'data-testid="archive-first"' in confirm and 'data-testid="revert-error"' in confirm and "revert-submit" not in confirm
    refused = client.post(reverse("vendor:phase-revert", args=[move_in.pk, "active"]))
    assert refused.status_code == 409 and f"run #{archive.pk}" in refused.content.decode() and latest_revert(active) is None
    # the archive phase: what goes, from the run's counts
    confirm = client.get(reverse("vendor:phase-revert", args=[move_in.pk, "archive"])).content.decode()
    assert 'data-testid="revert-submit"' in confirm
    removed = archive.counts
    for key, count in (("listings", removed["listings:loaded"]), ("activities", removed["activities:loaded"]), ("links", removed["links:loaded"])):
        assert re.search(rf'<li data-removed="{key}">.*?<strong class="num" data-count>{count}</strong></li>', confirm)
    # when: confirmed; the revert waits for a worker and the phase shows it
    response = client.post(reverse("vendor:phase-revert", args=[move_in.pk, "archive"]))
    assert response.status_code == 302 and response["Location"] == reverse("vendor:move-in", args=[move_in.pk])
    revert = latest_revert(archive)
    assert revert.status == RunStatus.PENDING and revert.created_by == company_admin
    page = client.get(reverse("vendor:move-in", args=[move_in.pk])).content.decode()
    assert 'data-revert-status="archive">Waiting<' in page and 'data-finished="0"' in page and 'data-testid="abort-archive"' in page
    state = client.get(reverse("vendor:move-in-status", args=[move_in.pk])).json()
    assert state["is_finished"] is False and state["phases"]["archive"]["revert"]["revert_run_id"] == revert.pk
    # when: a worker runs it
    assert execute_run(revert.pk) == RunStatus.COMPLETED
    page = client.get(reverse("vendor:move-in", args=[move_in.pk])).content.decode()
    assert 'data-revert-status="archive">Completed<' in page and 'data-testid="revert-counts-archive"' in page
    assert "Removed: 1 listings" in page and 'data-finished="1"' in page
    # then the active phase may go
    assert 'data-testid="revert-link-active"' in page and 'data-testid="revert-link-archive"' not in page


def test_page_abort_while_running_and_grouped_counts(company, company_admin, tmp_path):
    move_in = make_loaded_move_in(company, company_admin, tmp_path, status=RunStatus.RUNNING)
    run = move_in.active_run
    run.counts = {**run.counts, "listings:loaded": 18000}
    run.rows_done, run.rows_total = 18000, 50000
    run.save(update_fields=["counts", "rows_done", "rows_total"])
    client = client_of(company_admin, "ja")
    page = client.get(reverse("vendor:move-in", args=[move_in.pk])).content.decode()
    assert 'data-count="active:listings:loaded">18,000<' in page and "18,000 / 50,000" in page
    assert 'data-testid="abort-active"' in page and 'data-testid="revert-link-active"' not in page
    response = client.post(reverse("vendor:phase-abort", args=[move_in.pk, "active"]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.abort_requested_at is not None and run.status == RunStatus.RUNNING  # the worker stops after its batch
    page = client.get(reverse("vendor:move-in", args=[move_in.pk])).content.decode()
    assert 'data-testid="stopping-active"' in page
    # a phase not started, an unknown phase
    assert client.post(reverse("vendor:phase-abort", args=[move_in.pk, "archive"])).status_code == 404
    assert client.get(reverse("vendor:phase-revert", args=[move_in.pk, "other"])).status_code == 404


def test_pages_refuse_others(company, company_admin, agent, other_company, tmp_path):
    move_in = make_loaded_move_in(company, company_admin, tmp_path, status=RunStatus.RUNNING)
    assert client_of(agent).post(reverse("vendor:phase-abort", args=[move_in.pk, "active"])).status_code == 403
    assert client_of(other_company["admin"]).post(reverse("vendor:phase-abort", args=[move_in.pk, "active"])).status_code == 404
    assert client_of(other_company["admin"]).get(reverse("vendor:phase-revert", args=[move_in.pk, "active"])).status_code == 404
    move_in.active_run.refresh_from_db()
    assert move_in.active_run.abort_requested_at is None


def test_api_revert_and_abort(client, tmp_path, company, company_admin, agent, other_company, jp_agents):
    move_in, active, archive = load_both(company, company_admin, tmp_path)
    api = Api(client, company_admin)
    base = f"/vendor/move-ins/{move_in.pk}/phases"
    # the active phase first: refused with the code
    refused = api.post(f"{base}/active/revert")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "not_revertible"
    # nothing runs: no abort
    assert api.post(f"{base}/archive/abort").json()["error"]["code"] == "run_finished"
    # others
    assert Api(client, agent).post(f"{base}/archive/revert").status_code == 403
    assert Api(client, other_company["admin"]).post(f"{base}/archive/revert").status_code == 404
    assert latest_revert(archive) is None
    # the archive phase: started (202), answered with the phase's state
    answer = api.post(f"{base}/archive/revert")
    assert answer.status_code == 202
    state = answer.json()
    assert state["run_id"] == archive.pk and state["is_reverting"] is True and state["revert"]["status"] == "pending"
    # a second request while it waits: refused
    assert api.post(f"{base}/archive/revert").json()["error"]["code"] == "not_revertible"
    # abort on the phase stops its revert (no worker took it yet: at once)
    stopped = api.post(f"{base}/archive/abort")
    assert stopped.status_code == 200 and stopped.json()["revert"]["status"] == "aborted" and stopped.json()["is_reverting"] is False
    # started again and run by a worker: the detail shows it
    revert_id = api.post(f"{base}/archive/revert").json()["revert"]["revert_run_id"]
    assert execute_run(revert_id) == RunStatus.COMPLETED
    detail = api.get(f"/vendor/move-ins/{move_in.pk}").json()
    assert detail["archive"]["status"] == "reverted" and detail["archive"]["revert"]["counts"]["listings_removed"] == 1
    assert detail["active"]["revert"] is None


def test_a_phase_changed_since_is_reverted_only_when_forced_from_the_page_and_the_cli(tmp_path, company, company_admin, jp_agents):
    import datetime

    move_in, active, archive = load_both(company, company_admin, tmp_path)
    with company_scope(company):
        Listing.objects.filter(ref="L-0901").update(updated_at=archive.finished_at + datetime.timedelta(minutes=5))
    client = client_of(company_admin, "en")
    page = client.get(reverse("vendor:move-in", args=[move_in.pk])).content.decode()
    assert 'data-testid="revert-link-archive"' in page  # the way to the confirmation stays open
    confirm = client.get(reverse("vendor:phase-revert", args=[move_in.pk, "archive"])).content.decode()
    assert "L-0901" in confirm and 'data-testid="revert-force"' in confirm and 'data-testid="revert-submit"' not in confirm
    refused = client.post(reverse("vendor:phase-revert", args=[move_in.pk, "archive"]))
    assert refused.status_code == 409 and latest_revert(archive) is None
    assert vendor("revert", str(archive.pk), "--company", company.code, "--as", company_admin.email, expect_exit=2)["refused"] == "edited_since"

    forced = vendor("revert", str(archive.pk), "--company", company.code, "--as", company_admin.email, "--force")

    assert forced["status"] == "completed"
    with company_scope(company):
        assert not Listing.objects.filter(ref="L-0901").exists()
    archive.refresh_from_db()
    assert archive.status == RunStatus.REVERTED
