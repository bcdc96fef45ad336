"""Inquiry intake (反響取り込み): the sources, the LINE channel, every inquiry received, LINE events.

An `Inquiry` is written for everything that arrives, whatever became of it: a case (created, or a new
case of a known customer), or the inbox 「取り込めなかった反響」 (no source recognized the mail, or it
could not be read) where the raw mail waits for an admin. Nothing that arrives is dropped."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from estatecrm.core.models import TenantOwnedModel, TimeStampedModel
from estatecrm.crm.choices import CaseKind
from estatecrm.inquiries.choices import Channel, ImapSecurity, InquiryStatus, Preset


class InquirySource(TenantOwnedModel, TimeStampedModel):
    """Where inquiries come from (SUUMO, the website...), where they go, and how its mail is read.

    A mail belongs to the first enabled source (by position) whose `from_contains` and
    `subject_contains`, those given, all match; a source with neither reads no mail (API only).
    `labels` maps a body label to a field (choices.FIELDS), added to the preset's labels."""

    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    preset = models.CharField(_("preset"), max_length=16, choices=Preset.choices, blank=True)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    org_unit = models.ForeignKey("tenancy.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("receiving unit"),
                                 db_index=False)
    default_assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("default assignee"), db_index=False)
    case_kind = models.CharField(_("case kind"), max_length=8, choices=CaseKind.choices, default=CaseKind.RENT)
    from_contains = models.CharField(_("sender contains"), max_length=200, blank=True)
    subject_contains = models.CharField(_("subject contains"), max_length=200, blank=True)
    labels = models.JSONField(_("labels"), default=dict, blank=True)
    # The mailbox its mail arrives in (`inquiries fetch`); empty host: no fetching.
    imap_host = models.CharField(_("IMAP host"), max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), null=True, blank=True)
    imap_security = models.CharField(_("IMAP security"), max_length=16, choices=ImapSecurity.choices, default=ImapSecurity.SSL)
    imap_user = models.CharField(_("IMAP user"), max_length=255, blank=True)
    imap_password = models.CharField(_("IMAP password"), max_length=255, blank=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=255, default="INBOX")
    last_fetched_at = models.DateTimeField(_("last fetched"), null=True, blank=True)
    last_fetch_error = models.TextField(_("last fetch error"), blank=True)

    class Meta:
        verbose_name = _("inquiry source")
        verbose_name_plural = _("inquiry sources")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["company", "code"], name="inquirysource_unique_code")]
        indexes = [models.Index(fields=["company", "default_assignee"], name="inquirysource_assignee_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def reads_mail(self) -> bool:
        return bool(self.from_contains or self.subject_contains)


class LineChannel(TenantOwnedModel, TimeStampedModel):
    """The company's LINE official account (Messaging API channel): webhook at /hooks/line/<company code>/."""

    channel_secret = models.CharField(_("channel secret"), max_length=100)
    channel_access_token = models.CharField(_("channel access token"), max_length=500)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    org_unit = models.ForeignKey("tenancy.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("receiving unit"),
                                 db_index=False)
    default_assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("default assignee"), db_index=False)

    class Meta:
        verbose_name = _("LINE channel")
        verbose_name_plural = _("LINE channels")
        constraints = [models.UniqueConstraint(fields=["company"], name="linechannel_company_unique")]
        indexes = [models.Index(fields=["company", "default_assignee"], name="linechannel_assignee_idx")]


class Inquiry(TenantOwnedModel, TimeStampedModel):
    """One inquiry received, whatever became of it. `fields` holds what was read (choices.FIELDS).

    Idempotent: one row per (source, inquiry id) and one per mail Message-ID; the same again
    answers with this row's case and writes nothing."""

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=InquiryStatus.choices)
    source = models.ForeignKey(InquirySource, null=True, blank=True, on_delete=models.PROTECT, related_name="inquiries",
                               verbose_name=_("source"), db_index=False)
    inquiry_id = models.CharField(_("inquiry id"), max_length=100, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("received at"))
    sender = models.CharField(_("sender"), max_length=300, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    fields = models.JSONField(_("fields read"), default=dict, blank=True)
    raw = models.BinaryField(_("raw mail"), null=True, blank=True)
    error = models.TextField(_("why it was not taken"), blank=True)
    matched_by = models.CharField(_("known customer found by"), max_length=16, blank=True)
    customer = models.ForeignKey("crm.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("customer"), db_index=False)
    case = models.ForeignKey("crm.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="inquiries",
                             verbose_name=_("case"), db_index=False)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("resolved by"), db_index=False)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # Dismissed from 「取り込めなかった反響」 (spam, not an inquiry): why, and the status it is restored to.
    dismissal_reason = models.TextField(_("why it was dismissed"), blank=True)
    status_before_dismissal = models.CharField(_("status before it was dismissed"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        constraints = [
            models.UniqueConstraint(fields=["company", "source", "inquiry_id"], condition=~Q(inquiry_id=""), name="inquiry_unique_id"),
            models.UniqueConstraint(fields=["company", "message_id"], condition=~Q(message_id=""), name="inquiry_unique_message"),
        ]
        indexes = [
            models.Index(fields=["company", "-received_at", "-id"], name="inquiry_received_idx"),
            # 「取り込めなかった反響」: the few waiting for an admin.
            models.Index(fields=["company", "-received_at", "-id"], condition=Q(status__in=InquiryStatus.inbox()), name="inquiry_inbox_idx"),
            models.Index(fields=["company", "case"], name="inquiry_case_idx"),
            # The dismissed tab, the list of every inquiry by status, and its counts per status.
            models.Index(fields=["company", "status", "-received_at", "-id"], name="inquiry_status_idx"),
        ]

    def __str__(self) -> str:
        return self.subject or self.inquiry_id or str(self.pk)


class LineEvent(TenantOwnedModel):
    """A webhook event from LINE, stored as received and processed by a background task. Unique by
    `webhookEventId`: a redelivered event is stored once and changes nothing."""

    webhook_event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=32)
    line_user_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "webhook_event_id"], name="lineevent_unique_id")]
        indexes = [models.Index(fields=["company", "received_at"], condition=Q(processed_at__isnull=True), name="lineevent_pending_idx")]


class MailFetch(TenantOwnedModel):
    """The company's mailbox fetch (`inquiries fetch`, and the worker's): one at a time per company.

    A fetch holds this row's lease (`holder` until `held_until`, renewed as it goes), taken with a
    compare-and-set update: of two fetches starting at once (two workers, or a cron and a worker) one
    gets it and the other fetches nothing. The lease of a fetch whose process died expires.
    `started_at` is when the last fetch began: the worker fetches again INQUIRY_FETCH_SECONDS later."""

    holder = models.CharField(max_length=32, blank=True)
    held_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company"], name="mailfetch_company_unique")]


class LineMessage(TenantOwnedModel):
    """A LINE text pushed from the CRM to a customer (the case page or the API). One row per retry key,
    written once LINE accepted it, with the outbound LINE activity it became: the same retry key again
    (a form sent twice, a client retrying) finds this row and neither pushes nor records again."""

    retry_key = models.UUIDField(_("retry key"))
    case = models.ForeignKey("crm.Case", on_delete=models.CASCADE, related_name="+", verbose_name=_("case"), db_index=False)
    activity = models.ForeignKey("crm.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("activity"), db_index=False)
    line_user_id = models.CharField(_("LINE user id"), max_length=64)
    text = models.TextField(_("text"))
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("sent by"), db_index=False)
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("LINE message sent")
        verbose_name_plural = _("LINE messages sent")
        constraints = [models.UniqueConstraint(fields=["company", "retry_key"], name="linemessage_unique_retry_key")]
        indexes = [models.Index(fields=["company", "case"], name="linemessage_case_idx")]
