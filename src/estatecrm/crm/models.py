"""Customers, their contacts, follow-up cases and what hangs off a case; the company's masters."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from estatecrm.core.models import TenantOwnedModel, TimeStampedModel
from estatecrm.crm.choices import (
    FEATURE_BITS,
    MAX_SUB_ASSIGNEES_PER_CASE,
    MAX_TAGS_PER_CASE,
    ActivityDirection,
    ActivityKind,
    BuildingAge,
    CaseKind,
    CaseOrigin,
    CaseStatus,
    ContactPointKind,
    CustomerKind,
    CustomFieldType,
    DuplicateRule,
    Gender,
    IntroductionMethod,
    IntroductionReaction,
    Layout,
    ListingStatus,
    MoveIn,
    ReassignmentKind,
    ReassignmentOutcome,
    SharedValueMarking,
    WalkMinutes,
)

# ---------------------------------------------------------------------------------------------
# Masters


class Rank(TenantOwnedModel):
    """A company's rank (e.g. S, A, B, 見込み大), in display order."""

    name = models.CharField(_("name"), max_length=50)
    position = models.PositiveIntegerField(_("position"), default=0)
    # The version the settings page reads (optimistic lock, core/versions.py).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("rank")
        verbose_name_plural = _("ranks")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"], name="rank_unique_name",
                violation_error_message=_("A rank with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class SubStatus(TenantOwnedModel):
    """A company's own sub-status under one of the fixed statuses (e.g. 追客中 > 内見調整中)."""

    status = models.CharField(_("status"), max_length=16, choices=CaseStatus.choices)
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    # The version the settings page reads (optimistic lock, core/versions.py).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sub-status")
        verbose_name_plural = _("sub-statuses")
        ordering = ["status", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "status", "name"], name="substatus_unique_name",
                violation_error_message=_("This sub-status already exists under the status."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} / {self.name}"


class Tag(TenantOwnedModel):
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    # The version the settings page reads (optimistic lock, core/versions.py).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"], name="tag_unique_name",
                violation_error_message=_("A tag with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class CustomField(TenantOwnedModel):
    """A company-defined field; values live in `custom_values` JSON keyed by the field's name."""

    name = models.CharField(_("name"), max_length=100)
    field_type = models.CharField(_("type"), max_length=16, choices=CustomFieldType.choices, default=CustomFieldType.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    is_required = models.BooleanField(_("required"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)
    # The version the settings page reads (optimistic lock, core/versions.py).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"], name="customfield_unique_name",
                violation_error_message=_("A custom field with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class Project(TenantOwnedModel, TimeStampedModel):
    """A named bundle of leads (e.g. 春の反響リスト) with the custom fields its imports carry."""

    name = models.CharField(_("name"), max_length=200)
    custom_fields = models.ManyToManyField(CustomField, through="ProjectField", related_name="projects")
    # What the project's imports create unless an import says otherwise: nothing is guessed from a name.
    default_case_kind = models.CharField(_("default case kind"), max_length=8, choices=CaseKind.choices, default=CaseKind.RENT)
    default_customer_kind = models.CharField(
        _("default customer kind"), max_length=12, choices=CustomerKind.choices, default=CustomerKind.PERSON)

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"], name="project_unique_name",
                violation_error_message=_("A project with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class ProjectField(TenantOwnedModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="project_fields", db_index=False)
    custom_field = models.ForeignKey(CustomField, on_delete=models.PROTECT, related_name="project_fields", db_index=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["company", "custom_field"], name="projectfield_field_idx")]
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["company", "project", "custom_field"], name="projectfield_unique"),
        ]


# ---------------------------------------------------------------------------------------------
# Customers


class SoftDeletable(models.Model):
    """Rows that go to the trash first (kept TRASH_RETENTION_DAYS) and can be restored.

    A row merged away by 名寄せ (dedup/) has `deleted_at` (when it was merged) AND `merged_into` set: it
    leaves every live list and count through the same `deleted_at IS NULL` test, yet it is not in the
    trash (trash lists, restore and purge take `merged_into IS NULL` only); an undo clears both."""

    deleted_at = models.DateTimeField(_("moved to trash at"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_trashed(self) -> bool:
        return self.deleted_at is not None and getattr(self, "merged_into_id", None) is None

    @property
    def is_merged(self) -> bool:
        return getattr(self, "merged_into_id", None) is not None


class Customer(TenantOwnedModel, TimeStampedModel, SoftDeletable):
    """A person, household or company the office follows up. Its cases share it (linked cases)."""

    kind = models.CharField(_("kind"), max_length=16, choices=CustomerKind.choices, default=CustomerKind.PERSON)
    name = models.CharField(_("name"), max_length=200)
    name_key = models.CharField(max_length=200, default="", editable=False)
    kana = models.CharField(_("reading"), max_length=200, blank=True)
    kana_key = models.CharField(max_length=200, default="", editable=False)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=8, blank=True)
    prefecture = models.CharField(_("prefecture"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    building = models.CharField(_("building"), max_length=200, blank=True)
    employer = models.CharField(_("employer"), max_length=200, blank=True)
    annual_income = models.PositiveIntegerField(_("annual income (10,000 yen)"), null=True, blank=True)
    household_size = models.PositiveSmallIntegerField(_("household size"), null=True, blank=True)
    homepage = models.CharField(_("homepage"), max_length=500, blank=True)
    # LINE連携番号: a short number unique in the company, handed out to every customer by
    # crm.link_numbers (a customer sends it to the office's LINE account to link their LINE to this record).
    line_link_number = models.CharField(_("LINE link number"), max_length=32, blank=True)
    line_user_id = models.CharField(_("LINE user id"), max_length=64, blank=True)
    # When the customer blocked (unfollowed) the office's LINE account; None while they are a friend.
    line_blocked_at = models.DateTimeField(_("blocked on LINE"), null=True, blank=True)
    is_unsubscribed = models.BooleanField(_("unsubscribed from mails"), default=False)
    custom_values = models.JSONField(_("custom fields"), default=dict, blank=True)
    # 名寄せ: the customer this one was merged into (with `deleted_at` set, SoftDeletable); None while it stands alone.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_customers",
                                    verbose_name=_("merged into"), db_index=False, db_default=None)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["company", "name_key"], name="customer_name_key_idx"),
            # Partial: most customers have no reading key (a lead import writes none unless the lead is named after
            # its contact) and no LINE user; their queries add the condition's own term (core.lookups.NotEmpty).
            models.Index(fields=["company", "kana_key"], condition=~models.Q(kana_key=""), name="customer_kana_key_idx"),
            models.Index(fields=["company", "line_user_id"], condition=~models.Q(line_user_id=""), name="customer_line_user_idx"),
            # Few customers unsubscribe: a partial index finds them without reading the others.
            models.Index(fields=["company"], condition=models.Q(is_unsubscribed=True), name="customer_unsubscribed_idx"),
            models.Index(fields=["company", "merged_into"], condition=models.Q(merged_into__isnull=False), name="customer_merged_idx"),
            # The fuzzy 名寄せ rules block by postal code and by birth date (normalize/similarity.py).
            models.Index(fields=["company", "postal_code"], condition=~models.Q(postal_code=""), name="customer_postal_idx"),
            models.Index(fields=["company", "birth_date"], condition=models.Q(birth_date__isnull=False), name="customer_birth_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["company", "line_link_number"], condition=~models.Q(line_link_number=""),
                                    name="customer_line_link_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        return "".join(part for part in (self.prefecture, self.city, self.street, self.building) if part)


class Contact(TenantOwnedModel, TimeStampedModel):
    """A named person of a customer (the person themself, a family member, 営業部長 田中様)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts", db_index=False)
    name = models.CharField(_("name"), max_length=200)
    kana = models.CharField(_("reading"), max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["company", "customer"], name="contact_customer_idx")]

    def __str__(self) -> str:
        return self.name


class ContactPoint(TenantOwnedModel):
    """A phone number or e-mail address of a contact: the raw text as typed and its normalized form.

    `normalized` is E.164 for phones and the lower-cased address for e-mail; empty when the raw text
    could not be normalized (then `invalid_reason` says why). `customer` is denormalized from the
    contact so duplicate lookups by normalized value are one index scan.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="points", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points", db_index=False)
    kind = models.CharField(_("kind"), max_length=8, choices=ContactPointKind.choices)
    raw = models.CharField(_("as typed"), max_length=300)
    normalized = models.CharField(_("normalized"), max_length=254, blank=True)
    invalid_reason = models.CharField(max_length=32, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        ordering = ["position", "pk"]
        indexes = [
            models.Index(fields=["company", "contact"], name="contactpoint_contact_idx"),
            # customer in the index: "who else has this phone" and the duplicate scan read the index only.
            models.Index(fields=["company", "normalized", "customer"], name="contactpoint_normalized_idx"),
            models.Index(fields=["company", "customer"], name="contactpoint_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.normalized or self.raw


# ---------------------------------------------------------------------------------------------
# Cases


class Case(TenantOwnedModel, TimeStampedModel, SoftDeletable):
    """One follow-up (追客案件) of a customer: what they want, who follows them, and what happened.

    At most 10 tags and 19 sub-assignees: the actions check it, and the database enforces it through
    the position range and uniqueness on CaseTag and CaseAssignee.
    """

    # The company's own case number (#), what people see and search; never the database id, which
    # counts every company's cases. Handed out by crm.case_numbers (CaseNumberSequence).
    number = models.PositiveIntegerField(_("case number"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases", verbose_name=_("customer"), db_index=False)
    kind = models.CharField(_("kind"), max_length=8, choices=CaseKind.choices, default=CaseKind.RENT)
    status = models.CharField(_("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.NEW)
    sub_status = models.ForeignKey(
        SubStatus, null=True, blank=True, on_delete=models.PROTECT, related_name="cases", verbose_name=_("sub-status"), db_index=False)
    rank = models.ForeignKey(Rank, null=True, blank=True, on_delete=models.PROTECT, related_name="cases", verbose_name=_("rank"), db_index=False)
    owning_org = models.ForeignKey(
        "tenancy.OrgUnit", on_delete=models.PROTECT, related_name="cases", verbose_name=_("owning unit"), db_index=False)
    main_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="main_cases",
        verbose_name=_("main assignee"), db_index=False)
    sub_assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="CaseAssignee", related_name="sub_cases", verbose_name=_("sub-assignees")
    )
    tags = models.ManyToManyField(Tag, through="CaseTag", related_name="cases", verbose_name=_("tags"))
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.PROTECT, related_name="cases", verbose_name=_("project"), db_index=False)
    origin = models.CharField(_("origin"), max_length=20, choices=CaseOrigin.choices, default=CaseOrigin.MANUAL)
    source_system = models.CharField(_("source system"), max_length=32, blank=True)
    source_id = models.CharField(_("source id"), max_length=64, blank=True)
    started_on = models.DateField(_("started on"), null=True, blank=True)
    first_inquiry_date = models.DateField(_("first inquiry date"), null=True, blank=True)
    first_inquiry_source = models.CharField(_("first inquiry medium"), max_length=100, blank=True)
    first_inquiry_listing_ref = models.CharField(_("first inquiry listing number"), max_length=64, blank=True)
    first_inquiry_listing_name = models.CharField(_("first inquiry listing name"), max_length=200, blank=True)
    auto_intro_mail = models.BooleanField(_("automatic listing mails"), default=False)
    other_info = models.TextField(_("other information"), blank=True)
    # 次回対応: when the next follow-up is due and what to do then (empty when nothing is planned).
    next_action_at = models.DateTimeField(_("next action at"), null=True, blank=True)
    # db_default: the pipeline's bulk writers list their columns (crm/bulk_columns.py) and leave this one out.
    next_action = models.CharField(_("next action"), max_length=200, blank=True, db_default="")
    # The last contact with the customer (call, mail, visit, LINE...), kept by the actions that log one.
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    needs_review = models.BooleanField(_("needs review"), default=False)
    review_messages = models.JSONField(_("review messages"), default=list, blank=True)
    # Who marked a 要確認 case 確認済み, when, and their note (the messages stay). Bulk writers leave them
    # out (NULL, and the database's own empty default for the note).
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("reviewed by"),
        db_index=False)
    review_note = models.TextField(_("review note"), blank=True, default="", db_default="")
    custom_values = models.JSONField(_("custom fields"), default=dict, blank=True)
    # 名寄せ候補あり: another live case of another customer may be the same person (a DuplicateCandidate row names
    # it). Kept by crm.duplicates on every write, never by hand; bulk writers leave it out (the database default).
    has_duplicates = models.BooleanField(_("possible duplicates"), default=False, db_default=False)
    # 名寄せ: the case this one was merged into (with `deleted_at` set, SoftDeletable); None for every other case.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_cases",
                                    verbose_name=_("merged into"), db_index=False, db_default=None)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["company", "project"], name="case_project_idx"),
            # Live cases only: the list (and its keyset pages) reads live cases, and a reverted import's trashed leads,
            # the most recently updated, would otherwise be walked over first on every page (bench/cost_growth.py:
            # 121,544 trashed cases made the first page at 1,000,000 cases read 117,000 index entries on PostgreSQL).
            models.Index(fields=["company", "-updated_at", "-id"], condition=Q(deleted_at__isnull=True), name="case_updated_idx"),
            # deleted_at before the sort keys: a unit's live (or trashed) cases are one index range, for pages and counts.
            models.Index(fields=["company", "owning_org", "deleted_at", "-updated_at", "-id"], name="case_org_updated_idx"),
            models.Index(fields=["company", "main_assignee", "-updated_at"], name="case_main_assignee_idx"),
            models.Index(fields=["company", "customer"], name="case_customer_idx"),
            models.Index(fields=["company", "origin", "created_at"], name="case_origin_created_idx"),
            models.Index(fields=["company", "source_system", "source_id"], name="case_source_idx"),
            models.Index(fields=["company", "deleted_at"], name="case_deleted_idx"),
            # Few cases wait for review (要確認): the filter reads exactly them.
            models.Index(fields=["company", "-updated_at", "-id"], condition=models.Q(needs_review=True), name="case_needs_review_idx"),
            # The four next-action indexes below hold only cases with a next action (a new lead has none): every query
            # of them compares next_action_at or says IS NOT NULL (the next-action sort), which both SQLite and
            # PostgreSQL take as proof of `next_action_at IS NOT NULL`, bound parameters too.
            # The dashboard's counts per agent and per unit: next actions due up to today, cases started this week.
            # Covering (deleted_at too: SQLite reads no column from an index's condition), so the overdue next
            # actions of a whole company are counted from the index alone.
            models.Index(fields=["company", "next_action_at", "main_assignee", "owning_org", "deleted_at"],
                         condition=Q(deleted_at__isnull=True, next_action_at__isnull=False), name="case_next_action_cover_idx"),
            # An agent's own next actions (their dashboard and "my cases due today"): one range of their cases.
            models.Index(fields=["company", "main_assignee", "next_action_at"], condition=Q(deleted_at__isnull=True, next_action_at__isnull=False),
                         name="case_assignee_next_action_idx"),
            models.Index(fields=["company", "started_on"], condition=Q(deleted_at__isnull=True), name="case_started_idx"),
            # The status filter (追客中 ...) in the list's default order, and the dashboard's summary: live cases by status
            # (company-wide or per visible unit) and this month's new cases by origin, each counted from the index alone.
            # One index for both, the unit last (as case_status_contact_idx): an agent's or a unit's page walks the
            # status in list order and tests the unit on the index entry; with the unit before the sort keys, SQLite
            # took the unit's equality and sorted all of the unit's cases of that status (100-250 ms per page at
            # 1,000,000 cases), and a second index would cost every import an entry per case.
            models.Index(fields=["company", "status", "-updated_at", "-id", "owning_org"], condition=Q(deleted_at__isnull=True),
                         name="case_live_status_idx"),
            models.Index(fields=["company", "created_at", "origin", "owning_org"], condition=Q(deleted_at__isnull=True),
                         name="case_live_created_idx"),
            # 今日の対応 / 対応漏れ and the next-action sort: a range of live cases' next actions, company-wide or per
            # unit. Partial on the live cases: PostgreSQL sorts by an index only after equality columns, and
            # `deleted_at IS NULL` is not one for it (SQLite uses a partial index when the query says the same).
            models.Index(fields=["company", "next_action_at", "id"], condition=Q(deleted_at__isnull=True, next_action_at__isnull=False),
                         name="case_next_action_idx"),
            models.Index(fields=["company", "owning_org", "next_action_at", "id"], condition=Q(deleted_at__isnull=True, next_action_at__isnull=False),
                         name="case_org_next_action_idx"),
            # 未対応の新規反響 (new, never contacted): listed in the default order without a sort, counted from the
            # index alone (the unit last: an agent's count reads it from the index too).
            models.Index(fields=["company", "status", "-updated_at", "-id", "owning_org"],
                         condition=Q(last_contact_at__isnull=True, deleted_at__isnull=True), name="case_status_contact_idx"),
            # 未対応の新規反響 (follow_up=new_inquiries): the new inquiry and LINE cases nobody contacted yet, listed in the
            # default order and counted from this index alone. The origins are in the condition, which the filter writes
            # as constants (crm/filtersets.py `InConstants`): SQLite uses a partial index only for a query whose terms
            # are the condition's own, never for bound parameters.
            models.Index(fields=["company", "status", "-updated_at", "-id", "owning_org"],
                         condition=Q(last_contact_at__isnull=True, deleted_at__isnull=True,
                                     origin__in=(CaseOrigin.INQUIRY.value, CaseOrigin.LINE.value)),
                         name="case_new_inquiry_idx"),
            # Its count per unit (an agent's, an org admin's): SQLite would rather count by unit through the (then unit-ordered)
            # case_live_status_idx and read every new case's row (0.8 s at 1,000,000 cases) than walk the index above; this one
            # counts in 0.3 ms.
            models.Index(fields=["company", "status", "owning_org"],
                         condition=Q(last_contact_at__isnull=True, deleted_at__isnull=True,
                                     origin__in=(CaseOrigin.INQUIRY.value, CaseOrigin.LINE.value)),
                         name="case_new_inquiry_unit_idx"),
            # 名寄せ候補あり: listed in the default order and counted (per unit too) from the index alone.
            models.Index(fields=["company", "-updated_at", "-id", "owning_org"],
                         condition=Q(has_duplicates=True, deleted_at__isnull=True), name="case_duplicates_idx"),
            models.Index(fields=["company", "merged_into"], condition=Q(merged_into__isnull=False), name="case_merged_idx"),
        ]
        constraints = [models.UniqueConstraint(fields=["company", "number"], name="case_number_unique")]

    def __str__(self) -> str:
        return f"#{self.number} {self.customer.name}"


class CaseNumberSequence(TenantOwnedModel):
    """The last case number a company handed out. Numbers only grow: a number of a case that was
    trashed, purged or reverted with its import is never given again. crm.case_numbers increments
    `last_number` by a whole batch in one UPDATE, which holds the row until the transaction ends
    (PostgreSQL; SQLite has one writer), so two writers never receive the same numbers."""

    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company"], name="casenumbersequence_company_unique")]


class LinkNumberSequence(TenantOwnedModel):
    """How a company's LINE link numbers are made (crm.link_numbers): the count handed out so far and
    the company's own random offset. Serial n becomes (n * LINK_NUMBER_STEP + offset) mod 10**8, a
    one-to-one map, so numbers never repeat within a company and do not reveal how many customers it has."""

    last_serial = models.PositiveBigIntegerField(default=0)
    offset = models.PositiveBigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company"], name="linknumbersequence_company_unique")]


class CaseAssignee(TenantOwnedModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignee_links", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_assignee_links", db_index=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["company", "case", "user"], name="caseassignee_unique_user"),
            models.UniqueConstraint(fields=["company", "case", "position"], name="caseassignee_unique_position"),
            models.CheckConstraint(
                condition=Q(position__lt=MAX_SUB_ASSIGNEES_PER_CASE), name="caseassignee_at_most_19",
                violation_error_message=_("A case has at most 19 sub-assignees."),
            ),
        ]
        indexes = [models.Index(fields=["company", "user"], name="caseassignee_user_idx")]


class CaseTag(TenantOwnedModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tag_links", db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.PROTECT, related_name="case_links", db_index=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["company", "case", "tag"], name="casetag_unique_tag"),
            models.UniqueConstraint(fields=["company", "case", "position"], name="casetag_unique_position"),
            models.CheckConstraint(
                condition=Q(position__lt=MAX_TAGS_PER_CASE), name="casetag_at_most_10",
                violation_error_message=_("A case has at most 10 tags."),
            ),
        ]
        indexes = [models.Index(fields=["company", "tag"], name="casetag_tag_idx")]


class DesiredConditions(TenantOwnedModel):
    """What the customer of a case looks for. Money in 万円, areas in ㎡; list fields hold choice values."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="desired")
    rent_min = models.DecimalField(_("rent from (10,000 yen)"), max_digits=8, decimal_places=1, null=True, blank=True)
    rent_max = models.DecimalField(_("rent up to (10,000 yen)"), max_digits=8, decimal_places=1, null=True, blank=True)
    includes_management_fee = models.BooleanField(_("including management fee"), null=True, blank=True)
    price_min = models.PositiveIntegerField(_("price from (10,000 yen)"), null=True, blank=True)
    price_max = models.PositiveIntegerField(_("price up to (10,000 yen)"), null=True, blank=True)
    layouts = models.JSONField(_("layouts"), default=list, blank=True)
    area_min = models.DecimalField(_("floor area from (㎡)"), max_digits=8, decimal_places=2, null=True, blank=True)
    area_max = models.DecimalField(_("floor area up to (㎡)"), max_digits=8, decimal_places=2, null=True, blank=True)
    land_area_min = models.DecimalField(_("land area from (㎡)"), max_digits=9, decimal_places=2, null=True, blank=True)
    walk_minutes = models.PositiveSmallIntegerField(_("walk to station"), choices=WalkMinutes.choices, null=True, blank=True)
    building_age = models.PositiveSmallIntegerField(_("building age"), choices=BuildingAge.choices, null=True, blank=True)
    lines_stations = models.JSONField(_("lines and stations"), default=list, blank=True)
    areas = models.JSONField(_("areas"), default=list, blank=True)
    move_in = models.CharField(_("move-in"), max_length=16, choices=MoveIn.choices, blank=True)
    features = models.JSONField(_("features"), default=list, blank=True)
    management_comment = models.TextField(_("management comment"), blank=True)
    # The budget exactly as a source stated it, in its currency (a move-in from another vendor: a Polish
    # office's zł), beside the 万円 fields above that matching reads (filled as well when the currency is JPY).
    # db_default: the importers' bulk inserts name their columns and leave these out.
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="", db_default="")
    budget_min = models.DecimalField(_("budget from"), max_digits=14, decimal_places=2, null=True, blank=True)
    budget_max = models.DecimalField(_("budget up to"), max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("desired conditions")
        verbose_name_plural = _("desired conditions")
        constraints = [
            models.CheckConstraint(
                condition=Q(rent_min__isnull=True) | Q(rent_max__isnull=True) | Q(rent_min__lte=models.F("rent_max")),
                name="desired_rent_range", violation_error_message=_("The lower rent is above the upper rent."),
            ),
            models.CheckConstraint(
                condition=Q(price_min__isnull=True) | Q(price_max__isnull=True) | Q(price_min__lte=models.F("price_max")),
                name="desired_price_range", violation_error_message=_("The lower price is above the upper price."),
            ),
        ]


class Listing(TenantOwnedModel, TimeStampedModel):
    """A property the office offers, for rent or for sale (introductions and matching, listings/).

    Money in 万円 (rent, price), the management fee in yen as offices quote it (管理費 5,000円), deposit
    and key money in months of rent (敷1礼1). Features are bits of `feature_bits` (choices.FEATURE_BITS)
    so that matching is one SQL test on every database; stations are ListingStation rows.
    """

    ref = models.CharField(_("listing number"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=CaseKind.choices, default=CaseKind.RENT)
    status = models.CharField(_("status"), max_length=16, choices=ListingStatus.choices, default=ListingStatus.AVAILABLE)
    rent = models.DecimalField(_("rent (10,000 yen)"), max_digits=8, decimal_places=1, null=True, blank=True)
    management_fee = models.PositiveIntegerField(_("management fee (yen)"), null=True, blank=True)
    deposit_months = models.DecimalField(_("deposit (months)"), max_digits=4, decimal_places=1, null=True, blank=True)
    key_money_months = models.DecimalField(_("key money (months)"), max_digits=4, decimal_places=1, null=True, blank=True)
    price = models.PositiveIntegerField(_("price (10,000 yen)"), null=True, blank=True)
    layout = models.CharField(_("layout"), max_length=16, choices=Layout.choices, blank=True)
    area = models.DecimalField(_("floor area (㎡)"), max_digits=8, decimal_places=2, null=True, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=8, blank=True)
    prefecture = models.CharField(_("prefecture"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    building = models.CharField(_("building"), max_length=200, blank=True)
    built_on = models.DateField(_("built in"), null=True, blank=True)
    feature_bits = models.BigIntegerField(_("features"), default=0)
    suumo_id = models.CharField(_("SUUMO id"), max_length=64, blank=True)
    homes_id = models.CharField(_("LIFULL HOME'S id"), max_length=64, blank=True)
    athome_id = models.CharField(_("at home id"), max_length=64, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="listings",
                              verbose_name=_("agent in charge"), db_index=False)
    # The rent (monthly) or price exactly as a source stated it, in its currency (a move-in from another
    # vendor; a Polish office's zł); `rent` / `price` in 万円 are filled as well when the currency is JPY.
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="", db_default="")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        constraints = [models.UniqueConstraint(fields=["company", "ref"], name="listing_unique_ref")]
        indexes = [
            models.Index(fields=["company", "status", "kind", "rent"], name="listing_match_rent_idx"),
            models.Index(fields=["company", "status", "kind", "price"], name="listing_match_price_idx"),
            models.Index(fields=["company", "agent"], name="listing_agent_idx"),
            # An inquiry finds its listing by the portal's id, else by name (inquiries/intake.py).
            models.Index(fields=["company", "suumo_id"], condition=~models.Q(suumo_id=""), name="listing_suumo_idx"),
            models.Index(fields=["company", "homes_id"], condition=~models.Q(homes_id=""), name="listing_homes_idx"),
            models.Index(fields=["company", "athome_id"], condition=~models.Q(athome_id=""), name="listing_athome_idx"),
            models.Index(fields=["company", "name"], name="listing_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def features(self) -> list[str]:
        return [value for value, bit in FEATURE_BITS.items() if self.feature_bits & bit]

    @property
    def address(self) -> str:
        return f"{self.prefecture}{self.city}{self.street} {self.building}".strip()

    @property
    def age_years(self) -> int | None:
        """Full years since it was built (築年数), None when unknown."""
        if self.built_on is None:
            return None
        today = timezone.localdate()
        return max(0, today.year - self.built_on.year - ((today.month, today.day) < (self.built_on.month, self.built_on.day)))


class ListingStation(TenantOwnedModel):
    """A station near a listing with the walk to it (駅徒歩); `position` 0 is the nearest one shown first."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="stations", db_index=False)
    line = models.CharField(_("line"), max_length=100, blank=True)
    station = models.CharField(_("station"), max_length=100)
    walk_minutes = models.PositiveSmallIntegerField(_("walk (min)"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("station")
        verbose_name_plural = _("stations")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["company", "listing", "position"], name="listingstation_unique_position")]
        indexes = [models.Index(fields=["company", "station", "walk_minutes"], name="listingstation_station_idx")]


def listing_photo_path(instance: "ListingPhoto", filename: str) -> str:
    return f"listings/{instance.company_id}/{instance.listing_id}/{filename}"


class ListingPhoto(TenantOwnedModel):
    """An image of a listing (JPEG, PNG, WebP or GIF by its content), stored like case attachments."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="photos", db_index=False)
    file = models.FileField(_("photo"), upload_to=listing_photo_path, max_length=500)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("listing photo")
        verbose_name_plural = _("listing photos")
        ordering = ["uploaded_at", "pk"]
        indexes = [models.Index(fields=["company", "listing"], name="listingphoto_listing_idx")]

    def __str__(self) -> str:
        return self.original_name


class Introduction(TenantOwnedModel, TimeStampedModel):
    """A listing introduced to a case's customer. Keeps the listing's number and name as introduced."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="introductions", db_index=False)
    listing = models.ForeignKey(Listing, null=True, blank=True, on_delete=models.SET_NULL, related_name="introductions", db_index=False)
    listing_ref = models.CharField(_("listing number"), max_length=64, blank=True)
    listing_name = models.CharField(_("listing name"), max_length=200)
    rent_or_price = models.DecimalField(_("rent / price (10,000 yen)"), max_digits=10, decimal_places=1, null=True, blank=True)
    layout = models.CharField(_("layout"), max_length=16, blank=True)
    introduced_on = models.DateField(_("introduced on"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=8, choices=IntroductionMethod.choices, blank=True)
    reaction = models.CharField(_("reaction"), max_length=16, choices=IntroductionReaction.choices, blank=True)
    is_migrated = models.BooleanField(_("migrated"), default=False)

    class Meta:
        verbose_name = _("introduction")
        verbose_name_plural = _("introductions")
        ordering = ["-introduced_on", "-pk"]
        indexes = [
            models.Index(fields=["company", "listing"], name="introduction_listing_idx"),
            models.Index(fields=["company", "case"], name="introduction_case_idx")]


class Activity(TenantOwnedModel, TimeStampedModel):
    """Something that happened on a case, or a visit appointment (open until `is_done`)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="activities", db_index=False)
    kind = models.CharField(_("kind"), max_length=20, choices=ActivityKind.choices)
    direction = models.CharField(_("direction"), max_length=8, choices=ActivityDirection.choices, blank=True, db_default="")
    occurred_at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities",
        verbose_name=_("staff"), db_index=False)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("content"), blank=True)
    is_done = models.BooleanField(_("done"), default=True)
    org_unit = models.ForeignKey(
        "tenancy.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="appointments",
        verbose_name=_("holding unit"), db_index=False)
    is_migrated = models.BooleanField(_("migrated"), default=False)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["company", "case", "-occurred_at"], name="activity_case_idx"),
            models.Index(
                fields=["company", "org_unit", "occurred_at"], name="activity_open_appointment_idx",
                condition=Q(kind="visit_appointment", is_done=False),
            ),
            # The visit calendar and the dashboard: a week's visits, open or done.
            models.Index(fields=["company", "occurred_at"], condition=Q(kind="visit_appointment"), name="activity_visit_idx"),
        ]


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"attachments/{instance.company_id}/{instance.case_id}/{filename}"


class Attachment(TenantOwnedModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments", db_index=False)
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=500)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    uploaded_at = models.DateTimeField(_("uploaded at"))
    is_migrated = models.BooleanField(_("migrated"), default=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["-uploaded_at", "-pk"]
        indexes = [models.Index(fields=["company", "case"], name="attachment_case_idx")]

    def __str__(self) -> str:
        return self.original_name


# ---------------------------------------------------------------------------------------------
# 名寄せ: duplicate candidates (kept by crm.duplicates; merging lives in the dedup app)


def all_duplicate_rules() -> list[str]:
    return list(DuplicateRule.values)


class DuplicateSettings(TenantOwnedModel):
    """A company's 名寄せ settings: which rules find candidates, when a phone or e-mail counts as shared,
    and the lowest score a fuzzy rule must reach. A company without a row uses the defaults."""

    enabled_rules = models.JSONField(_("rules"), default=all_duplicate_rules, blank=True)
    # A normalized phone or e-mail held by this many live customers or more is shared (a switchboard, a
    # family landline, a management company): it alone finds no candidates.
    shared_threshold = models.PositiveSmallIntegerField(_("shared from (customers)"), default=5)
    fuzzy_min_score = models.FloatField(_("lowest score of similarity rules"), default=0.85)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("duplicate settings")
        verbose_name_plural = _("duplicate settings")
        constraints = [models.UniqueConstraint(fields=["company"], name="duplicatesettings_company_unique")]


class DuplicateCandidate(TenantOwnedModel):
    """Two live cases of different customers that one rule says may be the same person, `case_a < case_b`.

    Derived data: one row per pair and rule, rebuilt by crm.duplicates (incrementally on every write, or
    by `estatecrm dedup scan`), never edited by hand. `key` is what matched (the E.164 phone, the e-mail,
    the reading...), `score` 0..1 (1 for the exact rules). A dismissed pair (DuplicateDismissal) has no row."""

    case_a = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+", db_index=False)
    case_b = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+", db_index=False)
    rule = models.CharField(_("rule"), max_length=16, choices=DuplicateRule.choices)
    score = models.FloatField(_("score"))
    key = models.CharField(_("matched on"), max_length=254, blank=True)

    class Meta:
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        constraints = [
            models.UniqueConstraint(fields=["company", "case_a", "case_b", "rule"], name="duplicatecandidate_unique"),
            models.CheckConstraint(condition=Q(case_a__lt=models.F("case_b")), name="duplicatecandidate_ordered"),
        ]
        indexes = [models.Index(fields=["company", "case_b"], name="duplicatecandidate_case_b_idx")]


class DuplicateDismissal(TenantOwnedModel):
    """「別人」: someone said these two cases are not the same person. The pair stays out of the candidates
    whatever rule would find it again, `case_a < case_b`."""

    case_a = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+", db_index=False)
    case_b = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+", db_index=False)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                     db_index=False)
    dismissed_at = models.DateTimeField(_("dismissed at"))

    class Meta:
        verbose_name = _("dismissed duplicate")
        verbose_name_plural = _("dismissed duplicates")
        constraints = [
            models.UniqueConstraint(fields=["company", "case_a", "case_b"], name="duplicatedismissal_unique"),
            models.CheckConstraint(condition=Q(case_a__lt=models.F("case_b")), name="duplicatedismissal_ordered"),
        ]
        indexes = [models.Index(fields=["company", "case_b"], name="duplicatedismissal_case_b_idx")]


class SharedContactValue(TenantOwnedModel):
    """An admin's marking of one normalized phone or e-mail as shared (never finds candidates) or personal
    (finds them however many customers hold it). Without a row, the company's threshold decides."""

    normalized = models.CharField(_("phone or e-mail"), max_length=254)
    marking = models.CharField(_("marking"), max_length=8, choices=SharedValueMarking.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                  db_index=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("shared phone or e-mail")
        verbose_name_plural = _("shared phones and e-mails")
        constraints = [models.UniqueConstraint(fields=["company", "normalized"], name="sharedcontactvalue_unique")]


# ---------------------------------------------------------------------------------------------
# 担当変更: transfers, retirements and reassignments (written by crm.reassignment, read on 担当変更履歴)

REASSIGNMENT_UNDO_DAYS = 30


class Reassignment(TenantOwnedModel):
    """One 担当変更: a transfer (異動), a retirement (退職) or a reassignment of cases, as one record of who did
    it, when, whom it concerned and what it did; its cases are ReassignmentCase rows. Written once by
    crm.reassignment in the transaction of the change; only `undone_at`/`undone_by` change later (an undo,
    within REASSIGNMENT_UNDO_DAYS, of a reassignment whose cases were not reassigned again since)."""

    kind = models.CharField(_("kind"), max_length=16, choices=ReassignmentKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("done by"), db_index=False)
    # The agent transferred or retired, or the previous main assignee of a reassignment (None: several).
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("agent"), db_index=False)
    # The new main assignee (None: the cases moved with the agent, or went to the trash).
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("new main assignee"), db_index=False)
    # A transfer's units: the one the agent left and the one they joined.
    from_unit = models.ForeignKey("tenancy.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("from unit"), db_index=False)
    to_unit = models.ForeignKey("tenancy.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("to unit"), db_index=False)
    handover_note = models.TextField(_("handover note"), blank=True, default="")
    cases_moved = models.PositiveIntegerField(_("cases moved"), default=0)
    cases_reassigned = models.PositiveIntegerField(_("cases reassigned"), default=0)
    cases_trashed = models.PositiveIntegerField(_("cases moved to the trash"), default=0)
    visits_moved = models.PositiveIntegerField(_("visit appointments moved"), default=0)
    sub_assignments_removed = models.PositiveIntegerField(_("sub-assignee roles removed"), default=0)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("undone by"), db_index=False)

    class Meta:
        verbose_name = _("change of assignee")
        verbose_name_plural = _("changes of assignee")
        indexes = [
            models.Index(fields=["company", "-created_at", "-id"], name="reassignment_created_idx"),
            models.Index(fields=["company", "agent", "-created_at"], name="reassignment_agent_idx"),
            models.Index(fields=["company", "to_user", "-created_at"], name="reassignment_to_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def undo_deadline(self):
        return self.created_at + timezone.timedelta(days=REASSIGNMENT_UNDO_DAYS)


class ReassignmentCase(TenantOwnedModel):
    """One case of a Reassignment: its main assignee and owning unit before and after, the open visit
    appointments whose holder changed with it (`visit_ids`, so that an undo moves exactly those back), and
    whether the new main assignee was a sub-assignee of it (a main assignee is never also a sub-assignee, so
    that role was dropped; an undo gives it back). Outcome `sub_removed`: only the agent's sub-assignee role
    on the case was removed (a transfer's or retirement's choice)."""

    reassignment = models.ForeignKey(Reassignment, on_delete=models.CASCADE, related_name="items", db_index=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+", db_index=False)
    outcome = models.CharField(_("outcome"), max_length=16, choices=ReassignmentOutcome.choices)
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                  db_index=False)
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    from_unit = models.ForeignKey("tenancy.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    to_unit = models.ForeignKey("tenancy.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    visit_ids = models.JSONField(default=list, blank=True)
    to_user_was_sub_assignee = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("case of a change of assignee")
        verbose_name_plural = _("cases of changes of assignee")
        indexes = [
            models.Index(fields=["company", "reassignment", "id"], name="reassignmentcase_item_idx"),
            models.Index(fields=["company", "case", "-id"], name="reassignmentcase_case_idx"),
        ]
