"""Companies, their organisation tree, users, memberships and workgroups."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from estatecrm.core.models import TenantOwnedModel, TimeStampedModel
from estatecrm.tenancy.choices import CaseVisibility, Role


class Company(TimeStampedModel):
    """A tenant: one brokerage company. Every tenant row points at one."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    phone_region = models.CharField(_("phone region"), max_length=2, default="JP")

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class OrgUnit(TenantOwnedModel, TimeStampedModel):
    """A node of the company's organisation tree (本社 -> エリア -> 店舗, any depth).

    `path` is the chain of pks from the root (`/1/4/9/`), so a subtree is one `path__startswith`.
    Actions keep it in step with `parent`.
    """

    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent"), db_index=False)
    path = models.CharField(max_length=500, default="", editable=False)
    case_visibility = models.CharField(
        _("case visibility"), max_length=16, choices=CaseVisibility.choices, default=CaseVisibility.ORG
    )

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "code"],
                name="orgunit_unique_code",
                violation_error_message=_("An organisation unit with this code already exists."),
            ),
        ]
        indexes = [
            models.Index(fields=["company", "parent"], name="orgunit_parent_idx"),
            models.Index(fields=["company", "path"], name="orgunit_path_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class UserManager(BaseUserManager):
    """Users are found by e-mail across companies (log-in); selectors filter by company explicitly."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with e-mail. Acts inside one company (superusers may have none)."""

    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="users", verbose_name=_("company"), db_index=False)
    email = models.EmailField(_("e-mail address"), unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # When the last password-reset mail went out: one mail per PASSWORD_RESET_MAIL_INTERVAL_SECONDS,
    # so that nobody can flood a user's inbox through the public reset form.
    password_reset_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Whether a new inquiry assigned to the user is mailed to them (inquiries/: 反響の通知メール).
    inquiry_mail = models.BooleanField(_("mail me new inquiries assigned to me"), default=True, db_default=True)
    # Whether cases that someone else makes the user main assignee of are mailed to them (担当者変更のお知らせ).
    assignment_mail = models.BooleanField(_("mail me cases assigned to me"), default=True, db_default=True)
    # Whether a customer's reply (a LINE message on one of the user's cases) is mailed to them.
    reply_mail = models.BooleanField(_("mail me customers' replies"), default=True, db_default=True)
    # The address the user's e-mail to customers goes out from (set by an administrator). It stays the same
    # through a transfer: customers reply to it, so changing it is an explicit administrator's action.
    customer_mail_from = models.EmailField(_("sending address for customer e-mail"), blank=True, default="", db_default="")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [models.Index(fields=["company", "email"], name="user_company_email_idx")]

    def __str__(self) -> str:
        return self.name or self.email


class Membership(TenantOwnedModel, TimeStampedModel):
    """A user's place in one org unit with a role. Each user has exactly one primary membership.

    An admin membership on a top-level unit (no parent) makes the user a company admin.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user"), db_index=False)
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("organisation unit"), db_index=False)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    is_primary = models.BooleanField(_("primary unit"), default=False)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "user", "org_unit"],
                name="membership_unique_user_unit",
                violation_error_message=_("This user is already a member of this unit."),
            ),
            models.UniqueConstraint(
                fields=["company", "user"],
                condition=Q(is_primary=True),
                name="membership_one_primary",
                violation_error_message=_("A user has only one primary unit."),
            ),
        ]
        indexes = [models.Index(fields=["company", "org_unit"], name="membership_unit_idx")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.org_unit} ({self.role})"


class Workgroup(TenantOwnedModel, TimeStampedModel):
    """A named set of users across units (e.g. 新人チーム); do-not-call lists are scoped to them."""

    name = models.CharField(_("name"), max_length=200)
    members = models.ManyToManyField(User, through="WorkgroupMember", related_name="workgroups")

    class Meta:
        verbose_name = _("workgroup")
        verbose_name_plural = _("workgroups")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"],
                name="workgroup_unique_name",
                violation_error_message=_("A workgroup with this name already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WorkgroupMember(TenantOwnedModel):
    workgroup = models.ForeignKey(Workgroup, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="workgroup_memberships", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "workgroup", "user"], name="workgroupmember_unique"),
        ]
        indexes = [models.Index(fields=["company", "user"], name="workgroupmember_user_idx")]


class ApiToken(TenantOwnedModel):
    """A personal API token: calls made with it act as `user`, with that user's access rules.

    Only the SHA-256 of the token is stored; the clear token is shown once, when it is created
    (`estatecrm.tenancy.tokens.do_create_api_token`). `prefix` (the token's first characters) lets the
    owner recognise it in a list. A revoked token stays as a record and never authenticates again.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"), db_index=False)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=32)
    token_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            # The clear token carries its company's id, so authentication looks it up company first.
            models.UniqueConstraint(fields=["company", "token_hash"], name="apitoken_unique_hash"),
        ]
        indexes = [models.Index(fields=["company", "user", "-created_at"], name="apitoken_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
