"""Personal API tokens: stored hashed, shown once, revocable, owner-only, and the pages that manage them."""

import hashlib

import pytest
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.tenancy import tokens
from estatecrm.tenancy.models import ApiToken

pytestmark = pytest.mark.django_db


def test_create_stores_only_the_hash_and_returns_the_clear_token_once(agent):
    # when
    token, clear = tokens.do_create_api_token(user=agent, name=" 表計算の同期 ", acting_user=agent)
    # then
    stored = ApiToken.objects.for_company(agent.company_id).get()
    assert (stored.pk, stored.name, stored.user_id) == (token.pk, "表計算の同期", agent.pk)
    head = f"ecrm_{agent.company_id}_"
    assert clear.startswith(head) and len(clear) == len(head) + 43
    assert stored.prefix == clear[: len(head) + 6]
    assert stored.token_hash == hashlib.sha256(clear.encode()).hexdigest()
    assert clear not in {getattr(stored, field.attname) for field in ApiToken._meta.concrete_fields}
    with company_scope(agent.company_id):
        event = AuditEvent.objects.get(object_type="tenancy.apitoken")
    assert (event.verb, event.after) == ("create", {"user": agent.pk, "name": "表計算の同期", "prefix": stored.prefix})


def test_a_token_authenticates_its_user_and_records_the_use(agent):
    # given
    token, clear = tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    now = timezone.now()
    # when
    user = tokens.authenticate_api_token(clear, now=now)
    # then
    token.refresh_from_db()
    assert (user, token.last_used_at) == (agent, now)


def test_last_use_is_written_at_most_once_a_minute(agent):
    # given
    token, clear = tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    first = timezone.now()
    tokens.authenticate_api_token(clear, now=first)
    # when
    tokens.authenticate_api_token(clear, now=first + timezone.timedelta(seconds=30))
    # then
    token.refresh_from_db()
    assert token.last_used_at == first


@pytest.mark.parametrize("clear", ["", "ecrm_wrong", "ecrm_1_", "ecrm_x_abc", "not-a-token", "ecrm_1_" + "x" * 300])
def test_unknown_tokens_do_not_authenticate(agent, clear):
    tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    assert tokens.authenticate_api_token(clear) is None


def test_a_token_with_another_company_id_does_not_authenticate(agent, other_company):
    # given: the secret of company A's token presented under company B's id
    _token, clear = tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    secret = clear.removeprefix(f"ecrm_{agent.company_id}_")
    # then
    assert tokens.authenticate_api_token(f"ecrm_{other_company['company'].pk}_{secret}") is None


def test_revoked_token_no_longer_authenticates(agent):
    # given
    token, clear = tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    # when
    revoked = tokens.do_revoke_api_token(token=token, acting_user=agent)
    again = tokens.do_revoke_api_token(token=token, acting_user=agent)
    # then
    assert (revoked, again) == (True, False)
    assert tokens.authenticate_api_token(clear) is None
    with company_scope(agent.company_id):
        assert list(AuditEvent.objects.filter(object_type="tenancy.apitoken").values_list("verb", flat=True).order_by("pk")) == [
            "create", "revoke"]


def test_token_of_a_deactivated_user_does_not_authenticate(agent):
    # given
    _token, clear = tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    # then
    assert tokens.authenticate_api_token(clear) is None


def test_nobody_creates_or_revokes_tokens_for_someone_else(agent, company_admin):
    # given
    token, _clear = tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    # when / then
    with pytest.raises(PermissionDenied):
        tokens.do_create_api_token(user=agent, name="admin's", acting_user=company_admin)
    with pytest.raises(PermissionDenied):
        tokens.do_revoke_api_token(token=token, acting_user=company_admin)
    token.refresh_from_db()
    assert (token.revoked_at, ApiToken.objects.for_company(agent.company_id).count()) == (None, 1)


def test_name_is_required(agent):
    with pytest.raises(ApplicationError) as refused:
        tokens.do_create_api_token(user=agent, name="  ", acting_user=agent)
    assert (refused.value.code, refused.value.fields) == ("token_name_required", {"name": ["Give the token a name."]})
    assert ApiToken.objects.for_company(agent.company_id).count() == 0


def test_at_most_twenty_active_tokens(agent, monkeypatch):
    # given
    monkeypatch.setattr(tokens, "MAX_ACTIVE_TOKENS_PER_USER", 2)
    first, _ = tokens.do_create_api_token(user=agent, name="one", acting_user=agent)
    tokens.do_create_api_token(user=agent, name="two", acting_user=agent)
    # when / then
    with pytest.raises(ApplicationError) as refused:
        tokens.do_create_api_token(user=agent, name="three", acting_user=agent)
    assert refused.value.message == "You have 2 active tokens; revoke one first."
    tokens.do_revoke_api_token(token=first, acting_user=agent)
    tokens.do_create_api_token(user=agent, name="three", acting_user=agent)
    assert ApiToken.objects.for_company(agent.company_id).filter(revoked_at__isnull=True).count() == 2


def test_access_token_is_owner_only(agent, company_admin):
    token, _clear = tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    assert tokens.access_token(agent, token.pk) == token
    with pytest.raises(NotFound):
        tokens.access_token(company_admin, token.pk)


# --- pages


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_page_creates_a_token_and_shows_it_once(client, agent):
    # given
    client.force_login(agent)
    # when
    created = client.post("/account/tokens/new/", {"name": "sync"})
    listing = client.get("/account/tokens/")
    # then
    clear = created.context["clear_token"]
    assert created.status_code == 200
    assert clear in created.content.decode()
    assert "no-store" in created["Cache-Control"]
    assert tokens.authenticate_api_token(clear) == agent
    page = listing.content.decode()
    assert clear not in page
    assert f"{ApiToken.objects.for_company(agent.company_id).get().prefix}…" in page


def test_page_refuses_an_empty_name_with_the_field_error(client, agent):
    client.force_login(agent)
    response = client.post("/account/tokens/new/", {"name": ""})
    assert response.status_code == 400
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert ApiToken.objects.for_company(agent.company_id).count() == 0


def test_page_revokes_own_token(client, agent):
    # given
    token, clear = tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    client.force_login(agent)
    # when
    response = client.post(f"/account/tokens/{token.pk}/revoke/")
    # then
    assert (response.status_code, response["Location"]) == (302, "/account/tokens/")
    assert tokens.authenticate_api_token(clear) is None


def test_page_lists_only_own_tokens_and_cannot_revoke_others(client, agent, company_admin):
    # given
    token, _clear = tokens.do_create_api_token(user=agent, name="agent's sync", acting_user=agent)
    tokens.do_create_api_token(user=company_admin, name="admin's report", acting_user=company_admin)
    client.force_login(company_admin)
    # when
    page = client.get("/account/tokens/").content.decode()
    revoke = client.post(f"/account/tokens/{token.pk}/revoke/")
    # then
    assert ("admin's report" in page.replace("&#x27;", "'"), "agent's sync" in page.replace("&#x27;", "'")) == (True, False)
    assert revoke.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_pages_need_a_login(client):
    response = client.get("/account/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
