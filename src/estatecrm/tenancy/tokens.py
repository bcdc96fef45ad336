"""Personal API tokens: create (the clear token is returned once), revoke, list, authenticate.

A token is `ecrm_<company id>_` followed by 43 URL-safe characters (256 random bits); the company id
lets authentication use the company-first index (every tenant index starts with the company). Only its SHA-256 is stored,
so a leaked database does not leak usable tokens; hashing without a salt is safe here because the
secret is random and long, and it keeps the lookup one index probe.
"""

import hashlib
import secrets

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event
from estatecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from estatecrm.core.ids import parse_id
from estatecrm.tenancy.models import ApiToken, User

# Error codes of these actions (kept here: the token feature is self-contained).
TOKEN_NAME_REQUIRED = "token_name_required"
TOO_MANY_TOKENS = "too_many_tokens"

TOKEN_PREFIX = "ecrm_"
DISPLAY_SECRET_CHARACTERS = 6
MAX_ACTIVE_TOKENS_PER_USER = 20
# Recording every use would turn each API read into a write; a minute's precision is enough.
LAST_USED_PRECISION = timezone.timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def do_create_api_token(*, user: User, name: str, acting_user: User | None) -> tuple[ApiToken, str]:
    """Create a personal token of `user`. Returns (token, clear token).

    `acting_user` is that user (the account page), or None: the operator (`estatecrm tokens create`,
    for an integration user such as a website form sending inquiries). The clear token exists only in
    the return value: store it nowhere. Refuses an inactive or company-less user, an empty name and
    more than MAX_ACTIVE_TOKENS_PER_USER active tokens. Audited (name and prefix, never the secret).
    """
    if acting_user is not None and acting_user.pk != user.pk:
        raise PermissionDenied()
    if user.company_id is None or not user.is_active:
        raise PermissionDenied()
    name = (name or "").strip()
    if not name:
        message = _("Give the token a name.")
        raise ApplicationError(TOKEN_NAME_REQUIRED, message, fields={"name": [message]})
    # Lock the user's row so two concurrent creations cannot both pass the limit.
    User.objects.select_for_update().filter(pk=user.pk).first()
    active = ApiToken.objects.for_company(user.company_id).filter(user=user, revoked_at__isnull=True).count()
    if active >= MAX_ACTIVE_TOKENS_PER_USER:
        raise ApplicationError(
            TOO_MANY_TOKENS,
            _("You have %(count)d active tokens; revoke one first.") % {"count": MAX_ACTIVE_TOKENS_PER_USER},
        )
    head = f"{TOKEN_PREFIX}{user.company_id}_"
    clear = head + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        company_id=user.company_id, user=user, name=name[:100], prefix=clear[: len(head) + DISPLAY_SECRET_CHARACTERS],
        token_hash=hash_token(clear),
    )
    record_event(company_id=user.company_id, actor=acting_user, verb="create", instance=token,
                 after={"user": user.pk, "name": token.name, "prefix": token.prefix})
    return token, clear


@transaction.atomic
def do_revoke_api_token(*, token: ApiToken, acting_user: User | None) -> bool:
    """Revoke the token for good: its owner, or the operator (acting_user None, `estatecrm tokens
    revoke`). Returns False when it already was. Audited."""
    if acting_user is not None and acting_user.pk != token.user_id:
        raise PermissionDenied()
    now = timezone.now()
    updated = ApiToken.objects.for_company(token.company_id).filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if not updated:
        return False
    token.revoked_at = now
    record_event(company_id=token.company_id, actor=acting_user, verb="revoke", instance=token,
                 before={"revoked_at": None}, after={"revoked_at": now.isoformat()})
    return True


@transaction.atomic(savepoint=False)
def revoke_user_tokens(*, user: User, acting_user: User | None) -> int:
    """Revoke every active token of `user` (a deactivation, a retirement): the caller checked its own rule.
    Returns how many were revoked; one `revoke` event each."""
    if user.company_id is None:
        return 0
    now = timezone.now()
    tokens = list(ApiToken.objects.for_company(user.company_id).select_for_update().filter(user=user, revoked_at__isnull=True))
    ApiToken.objects.for_company(user.company_id).filter(pk__in=[token.pk for token in tokens]).update(revoked_at=now)
    for token in tokens:
        record_event(company_id=token.company_id, actor=acting_user, verb="revoke", instance=token,
                     before={"revoked_at": None}, after={"revoked_at": now.isoformat()})
    return len(tokens)


def token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (active and revoked)."""
    if user.company_id is None:
        return ApiToken.objects.none()
    return ApiToken.objects.for_company(user.company_id).filter(user=user).order_by("-created_at", "-pk")


def company_token_list(company_id: int) -> QuerySet[ApiToken]:
    """Every token of the company with its user, newest first (the operator's `estatecrm tokens list`)."""
    return ApiToken.objects.for_company(company_id).select_related("user").order_by("-created_at", "-pk")


def access_token(user: User, token_id) -> ApiToken:
    """One of the user's own tokens; NotFound for anybody else's."""
    try:
        return token_list(user=user).get(pk=parse_id(str(token_id)))
    except ApiToken.DoesNotExist:
        raise NotFound() from None


def authenticate_api_token(clear: str, *, now=None) -> User | None:
    """The active user a clear token belongs to, or None (unknown, revoked, inactive or company-less user).

    Records the use in `last_used_at` at most once a minute (not audited: a use changes nothing).
    """
    if not clear or not clear.startswith(TOKEN_PREFIX) or len(clear) > 200:
        return None
    company_part, _separator, secret = clear.removeprefix(TOKEN_PREFIX).partition("_")
    company_id = parse_id(company_part)
    if company_id is None or not secret:
        return None
    now = now or timezone.now()
    token = (
        ApiToken.objects.for_company(company_id).select_related("user", "user__company")
        .filter(token_hash=hash_token(clear), revoked_at__isnull=True).first()
    )
    if token is None or not token.user.is_active or token.user.company_id != token.company_id:
        return None
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_PRECISION:
        ApiToken.objects.for_company(token.company_id).filter(pk=token.pk).update(last_used_at=now)
    return token.user
