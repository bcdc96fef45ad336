"""`estatecrm tokens create EMAIL --company CODE --name NAME`, `tokens list --company CODE [--json]` and
`tokens revoke ID --company CODE`: API tokens made by the operator, for an integration (the office's
website form, a portal's relay) that sends inquiries to `POST /api/v1/inquiries`.

The command acts as the operator (`acting_user=None`) through the same actions as the account page,
so the limits (a name, at most MAX_ACTIVE_TOKENS_PER_USER active tokens per user) and the audit are the
same. The clear token is printed once, alone on stdout (so that a script can capture it); only its
SHA-256 is stored. `list` never shows a secret, only the prefix.

The e-mail must be an active user of the company. `--create-user --unit CODE [--user-name NAME]`
makes it one first: an integration user with an agent membership in that unit and no password (it
cannot log in; its token acts with an agent's rules, so it also reads that unit's cases through the
API). An existing user of the company is used as it is.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.tenancy.actions import do_set_primary_membership, do_upsert_user
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.commands import company_by_code
from estatecrm.tenancy.models import ApiToken, OrgUnit, User
from estatecrm.tenancy.tokens import company_token_list, do_create_api_token, do_revoke_api_token


class Command(BaseCommand):
    help = "API tokens for integrations: create (prints the token once), list, revoke."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        create = commands.add_parser("create", help="create a token for a user of the company and print it once")
        create.add_argument("email", metavar="EMAIL")
        create.add_argument("--company", required=True)
        create.add_argument("--name", required=True, help="what the token is for (e.g. ホームページの問い合わせフォーム)")
        create.add_argument("--create-user", action="store_true",
                            help="create EMAIL as an integration user (no password, agent of --unit) when it is not a user yet")
        create.add_argument("--unit", help="the unit code of a user made by --create-user")
        create.add_argument("--user-name", default="", help="the display name of a user made by --create-user")
        create.add_argument("--json", action="store_true", help="print one JSON object (id, name, user, prefix, token)")
        listing = commands.add_parser("list", help="the company's tokens (never the secret)")
        listing.add_argument("--company", required=True)
        listing.add_argument("--json", action="store_true")
        revoke = commands.add_parser("revoke", help="revoke a token for good")
        revoke.add_argument("token_id", type=int, metavar="ID")
        revoke.add_argument("--company", required=True)

    def handle(self, *args, action, **options):
        company = company_by_code(options["company"])
        with company_scope(company):
            getattr(self, f"handle_{action}")(company, options)

    def handle_create(self, company, options):
        email = options["email"].strip().lower()
        if options["unit"] and not options["create_user"]:
            raise CommandError("--unit is only for --create-user")
        try:
            with transaction.atomic():
                user = self.token_user(company, email, options)
                token, clear = do_create_api_token(user=user, name=options["name"], acting_user=None)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        if options["json"]:
            self.stdout.write(json.dumps({"id": token.pk, "name": token.name, "user": user.email, "prefix": token.prefix, "token": clear},
                                         ensure_ascii=False))
        else:
            self.stdout.write(clear)
        self.stderr.write(f"Token {token.pk} ({token.name}) of {user.email} created. It is shown only this once: store it now.")

    def token_user(self, company, email: str, options) -> User:
        user = User.objects.filter(email=email).first()
        if user is not None and user.company_id != company.pk:
            raise CommandError(f"{email} is not a user of company {company.code}")
        if user is None:
            if not options["create_user"]:
                raise CommandError(f"{email} is not a user of company {company.code}. "
                                   f"To make it an integration user, add --create-user --unit CODE.")
            if not options["unit"]:
                raise CommandError("--create-user needs --unit CODE (the unit whose agent the integration user becomes)")
            unit = OrgUnit.objects.for_company(company).filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"Unknown unit: {options['unit']}")
            user, _changed = do_upsert_user(company=company, email=email, name=options["user_name"].strip()[:200], acting_user=None)
            do_set_primary_membership(user=user, org_unit=unit, role=Role.AGENT, acting_user=None)
        if not user.is_active:
            raise CommandError(f"{email} is deactivated; reactivate the user first")
        return user

    def handle_list(self, company, options):
        rows = [{
            "id": token.pk, "name": token.name, "user": token.user.email, "prefix": token.prefix,
            "created_at": token.created_at.isoformat(), "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        } for token in company_token_list(company.pk)]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write("No tokens.")
            return
        for token in company_token_list(company.pk):
            state = f"revoked {local(token.revoked_at)}" if token.revoked_at else "active"
            used = local(token.last_used_at) if token.last_used_at else "never used"
            self.stdout.write(f"{token.pk}\t{token.prefix}…\t{token.name}\t{token.user.email}\tcreated {local(token.created_at)}\t"
                              f"last used {used}\t{state}")

    def handle_revoke(self, company, options):
        token = ApiToken.objects.for_company(company).filter(pk=options["token_id"]).first()
        if token is None:
            raise CommandError(f"No token {options['token_id']} in company {company.code}")
        try:
            revoked = do_revoke_api_token(token=token, acting_user=None)
        except PermissionDenied as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Token {token.pk} ({token.name}) revoked." if revoked else f"Token {token.pk} ({token.name}) was already revoked.")


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
