"""`estatecrm tokens create|list|revoke`: the operator makes API tokens for integrations, with the same
limits and audit as the account page; the secret is printed once and never listed."""

import hashlib
import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.tenancy import tokens
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.models import ApiToken, Membership, User

pytestmark = pytest.mark.django_db


def run(*arguments) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("tokens", *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def audit_verbs(company, object_type: str) -> list[str]:
    with company_scope(company):
        return list(AuditEvent.objects.filter(object_type=object_type).order_by("pk").values_list("verb", flat=True))


def test_create_prints_the_token_once_for_a_user_of_the_company(company, agent):
    # when
    out, err = run("create", "Agent@Acme.example.jp", "--company", "acme", "--name", "ホームページ")
    # then: stdout is the token alone, stored only as its hash
    clear = out.strip()
    token = ApiToken.objects.for_company(company).get()
    assert (token.user_id, token.name, token.token_hash) == (agent.pk, "ホームページ", hashlib.sha256(clear.encode()).hexdigest())
    assert tokens.authenticate_api_token(clear) == agent
    assert f"Token {token.pk} (ホームページ) of agent@acme.example.jp created" in err and clear not in err
    with company_scope(company):
        event = AuditEvent.objects.get(object_type="tenancy.apitoken")
    assert (event.actor_id, event.verb, event.after) == (None, "create", {"user": agent.pk, "name": "ホームページ", "prefix": token.prefix})


def test_create_json(company, agent):
    out, _err = run("create", "agent@acme.example.jp", "--company", "acme", "--name", "relay", "--json")
    printed = json.loads(out)
    token = ApiToken.objects.for_company(company).get()
    assert printed == {"id": token.pk, "name": "relay", "user": "agent@acme.example.jp", "prefix": token.prefix, "token": printed["token"]}
    assert tokens.authenticate_api_token(printed["token"]) == agent


def test_an_unknown_email_is_refused_without_create_user(company, org):
    with pytest.raises(CommandError, match="form@acme.example.jp is not a user of company acme. To make it an integration user, "
                                           "add --create-user --unit CODE."):
        run("create", "form@acme.example.jp", "--company", "acme", "--name", "form")
    assert (User.objects.filter(email="form@acme.example.jp").exists(), ApiToken.objects.unscoped().count()) == (False, 0)


def test_create_user_makes_an_integration_user_that_cannot_log_in(company, org):
    # when
    out, _err = run("create", "form@acme.example.jp", "--company", "acme", "--name", "form", "--create-user", "--unit", "SBY",
                    "--user-name", "問い合わせフォーム")
    # then
    user = User.objects.get(email="form@acme.example.jp")
    assert (user.company_id, user.name, user.has_usable_password(), user.is_active) == (company.pk, "問い合わせフォーム", False, True)
    membership = Membership.objects.for_company(company).get(user=user)
    assert (membership.org_unit_id, membership.role, membership.is_primary) == (org["SBY"].pk, Role.AGENT, True)
    assert tokens.authenticate_api_token(out.strip()) == user
    assert audit_verbs(company, "tenancy.user") == ["create"]
    assert audit_verbs(company, "tenancy.apitoken") == ["create"]


def test_create_user_needs_a_known_unit_and_writes_nothing_otherwise(company, org):
    with pytest.raises(CommandError, match="--create-user needs --unit CODE"):
        run("create", "form@acme.example.jp", "--company", "acme", "--name", "form", "--create-user")
    with pytest.raises(CommandError, match="Unknown unit: XXX"):
        run("create", "form@acme.example.jp", "--company", "acme", "--name", "form", "--create-user", "--unit", "XXX")
    assert User.objects.filter(email="form@acme.example.jp").exists() is False


def test_a_refused_token_rolls_back_the_new_user(company, org):
    with pytest.raises(CommandError, match="Give the token a name."):
        run("create", "form@acme.example.jp", "--company", "acme", "--name", " ", "--create-user", "--unit", "SBY")
    assert User.objects.filter(email="form@acme.example.jp").exists() is False
    assert Membership.objects.unscoped().filter(org_unit=org["SBY"]).count() == 0


def test_create_user_uses_an_existing_user_of_the_company_as_it_is(company, org, agent):
    run("create", "agent@acme.example.jp", "--company", "acme", "--name", "form", "--create-user", "--unit", "HQ")
    assert list(Membership.objects.for_company(company).filter(user=agent).values_list("org_unit__code", "role")) == [("SBY", Role.AGENT)]


def test_a_user_of_another_company_is_refused(company, org, other_company):
    with pytest.raises(CommandError, match="admin@other.example.jp is not a user of company acme"):
        run("create", "admin@other.example.jp", "--company", "acme", "--name", "x", "--create-user", "--unit", "SBY")
    assert ApiToken.objects.unscoped().count() == 0


def test_a_deactivated_user_is_refused(company, agent):
    User.objects.filter(pk=agent.pk).update(is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        run("create", "agent@acme.example.jp", "--company", "acme", "--name", "x")
    assert ApiToken.objects.unscoped().count() == 0


def test_the_limit_of_active_tokens_holds_for_the_operator_too(company, agent, monkeypatch):
    monkeypatch.setattr(tokens, "MAX_ACTIVE_TOKENS_PER_USER", 1)
    run("create", "agent@acme.example.jp", "--company", "acme", "--name", "one")
    with pytest.raises(CommandError, match="You have 1 active tokens; revoke one first."):
        run("create", "agent@acme.example.jp", "--company", "acme", "--name", "two")
    assert ApiToken.objects.for_company(company).count() == 1


def test_an_unknown_company_is_refused(company):
    with pytest.raises(CommandError, match="Unknown company: nope"):
        run("create", "agent@acme.example.jp", "--company", "nope", "--name", "x")


def test_list_shows_every_token_of_the_company_never_a_secret(company, agent, company_admin, other_company):
    # given
    first, first_clear = tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    second, second_clear = tokens.do_create_api_token(user=company_admin, name="ホームページ", acting_user=None)
    tokens.do_revoke_api_token(token=first, acting_user=None)
    tokens.authenticate_api_token(second_clear)
    tokens.do_create_api_token(user=other_company["admin"], name="other company's", acting_user=None)
    first.refresh_from_db()
    second.refresh_from_db()
    # when
    as_json, _err = run("list", "--company", "acme", "--json")
    as_text, _err = run("list", "--company", "acme")
    # then
    assert json.loads(as_json) == [
        {"id": second.pk, "name": "ホームページ", "user": "admin@acme.example.jp", "prefix": second.prefix,
         "created_at": second.created_at.isoformat(), "last_used_at": second.last_used_at.isoformat(), "revoked_at": None},
        {"id": first.pk, "name": "sync", "user": "agent@acme.example.jp", "prefix": first.prefix,
         "created_at": first.created_at.isoformat(), "last_used_at": None, "revoked_at": first.revoked_at.isoformat()},
    ]
    lines = as_text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{second.pk}\t{second.prefix}…\tホームページ\tadmin@acme.example.jp\tcreated ") and lines[0].endswith("\tactive")
    assert "never used" in lines[1] and "\trevoked " in lines[1]
    for secret in (first_clear, second_clear):
        assert secret not in as_json + as_text
        assert secret.removeprefix(f"ecrm_{company.pk}_")[6:] not in as_json + as_text


def test_list_of_a_company_without_tokens(company):
    assert run("list", "--company", "acme")[0] == "No tokens.\n"
    assert run("list", "--company", "acme", "--json")[0] == "[]\n"


def test_revoke(company, agent):
    # given
    token, clear = tokens.do_create_api_token(user=agent, name="sync", acting_user=agent)
    # when
    first, _err = run("revoke", str(token.pk), "--company", "acme")
    again, _err = run("revoke", str(token.pk), "--company", "acme")
    # then
    assert (first, again) == (f"Token {token.pk} (sync) revoked.\n", f"Token {token.pk} (sync) was already revoked.\n")
    assert tokens.authenticate_api_token(clear) is None
    assert audit_verbs(company, "tenancy.apitoken") == ["create", "revoke"]


def test_revoke_does_not_reach_another_companys_token(company, other_company):
    token, clear = tokens.do_create_api_token(user=other_company["admin"], name="theirs", acting_user=None)
    with pytest.raises(CommandError, match=f"No token {token.pk} in company acme"):
        run("revoke", str(token.pk), "--company", "acme")
    assert tokens.authenticate_api_token(clear) == other_company["admin"]


@pytest.mark.django_db(transaction=True)
def test_the_command_as_an_operator_runs_it(company, org, client):
    # given: the test database, as a separate process sees it
    environment = testing.process_environment(LANGUAGE_CODE="en")
    # when
    done = subprocess.run([sys.executable, "-m", "estatecrm", "tokens", "create", "form@acme.example.jp", "--company", "acme",
                           "--name", "ホームページ", "--create-user", "--unit", "SBY"], env=environment, capture_output=True, text=True,
                          timeout=120)
    # then: one line, the token, that calls the API
    assert done.returncode == 0, done.stderr
    clear = done.stdout.strip()
    assert done.stdout == clear + "\n" and "shown only this once" in done.stderr
    response = client.get("/api/v1/org-units", HTTP_AUTHORIZATION=f"Bearer {clear}")
    assert response.status_code == 200
    listed = subprocess.run([sys.executable, "-m", "estatecrm", "tokens", "list", "--company", "acme", "--json"], env=environment,
                            capture_output=True, text=True, timeout=120)
    assert [(row["user"], row["name"]) for row in json.loads(listed.stdout)] == [("form@acme.example.jp", "ホームページ")]
    assert clear not in listed.stdout
