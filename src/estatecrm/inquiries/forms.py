"""Forms of the intake settings pages: structure only, the rules live in inquiries/actions.py.

A source's labels are rows (`label_<n>`, `field_<n>`): a body label and the field it fills. The
page adds and removes rows with a few lines of script; without script a few empty rows are offered
and a row whose label is cleared is removed.
"""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from estatecrm.core.versions import VersionField
from estatecrm.crm.choices import CaseKind
from estatecrm.inquiries.choices import FIELDS, ImapSecurity, Preset
from estatecrm.tenancy.forms import UnitChoiceField
from estatecrm.tenancy.models import OrgUnit, User

FIELD_LABELS = {
    "customer_name": _("Customer name"),
    "customer_kana": _("Customer name (kana)"),
    "phone": _("Phone"),
    "email": _("E-mail address"),
    "message": _("Message"),
    "inquiry_type": _("Inquiry type"),
    "inquiry_id": _("Inquiry number"),
    "received_at": _("Received at"),
    "listing_ref": _("Listing number"),
    "listing_name": _("Listing name"),
    "listing_price": _("Rent or price"),
    "listing_address": _("Listing address"),
    "listing_layout": _("Layout"),
    "listing_area": _("Floor area"),
    "listing_station": _("Nearest station"),
    "desired_move_in": _("Desired move-in"),
}
assert set(FIELD_LABELS) == set(FIELDS)
EMPTY_ROWS = 2
ROW = re.compile(r"^(?:label|field)_(\d{1,3})$")


def field_choices():
    return [("", "---------"), *[(name, f"{FIELD_LABELS[name]} ({name})") for name in FIELDS]]


class AssigneeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return f"{user.name} ({user.email})" if user.name else user.email


class DestinationFields(forms.Form):
    """The unit and default assignee, shared by the source form and the LINE form."""

    def set_choices(self, company_id: int) -> None:
        self.fields["org_unit"].queryset = OrgUnit.objects.for_company(company_id).order_by("path")
        self.fields["default_assignee"].queryset = User.objects.filter(company_id=company_id, is_active=True).order_by("name", "email")


class SourceForm(DestinationFields):
    code = forms.CharField(label=_("Code"), max_length=32,
                           help_text=_("Letters and digits, e.g. suumo. It names the source in cases and in the tenant file; "
                                       "it cannot be changed later."))
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Shown as the case's first-inquiry source, e.g. SUUMO."))
    preset = forms.ChoiceField(label=_("Preset"), required=False, choices=[("", _("(none: own labels only)")), *Preset.choices],
                               help_text=_("A built-in label map; the labels below are added to it."))
    is_enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    position = forms.IntegerField(label=_("Order"), min_value=0, max_value=1_000_000, initial=0,
                                  help_text=_("A mail goes to the first enabled source (lowest order) whose conditions it meets."))
    org_unit = UnitChoiceField(label=_("Receiving unit"), queryset=OrgUnit.objects.none())
    default_assignee = AssigneeChoiceField(label=_("Default assignee"), queryset=User.objects.none(), required=False,
                                           empty_label=_("(nobody: cases stay unassigned)"))
    case_kind = forms.ChoiceField(label=_("Case kind"), choices=CaseKind.choices, initial=CaseKind.RENT)
    from_contains = forms.CharField(label=_("Sender contains"), max_length=200, required=False,
                                    help_text=_("e.g. jds.suumo.jp. A mail must match every condition given."))
    subject_contains = forms.CharField(label=_("Subject contains"), max_length=200, required=False, help_text=_("e.g. 反響"))
    imap_host = forms.CharField(label=_("IMAP host"), max_length=255, required=False,
                                help_text=_("Leave empty when the source's mail is not fetched from a mailbox."))
    imap_port = forms.IntegerField(label=_("IMAP port"), min_value=1, max_value=65535, required=False,
                                   help_text=_("Empty: 993 for TLS, 143 otherwise."))
    imap_security = forms.ChoiceField(label=_("IMAP security"), choices=ImapSecurity.choices, initial=ImapSecurity.SSL)
    imap_user = forms.CharField(label=_("IMAP user"), max_length=255, required=False)
    imap_password = forms.CharField(label=_("IMAP password"), max_length=255, required=False, strip=False,
                                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    imap_folder = forms.CharField(label=_("IMAP folder"), max_length=255, required=False, initial="INBOX")
    sample_body = forms.CharField(label=_("Mail body to try"), required=False, widget=forms.Textarea(attrs={"rows": 10}),
                                  help_text=_("Paste the body of a mail from this source: the page shows what the labels read. Nothing is saved."))

    MAIL_FIELDS = ("from_contains", "subject_contains")
    IMAP_FIELDS = ("imap_host", "imap_port", "imap_security", "imap_user", "imap_password", "imap_folder")

    def __init__(self, *args, company_id: int, editing: bool = False, has_password: bool = False, labels: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices(company_id)
        self.editing = editing
        if editing:
            self.fields["code"].disabled = True
            self.fields["code"].required = False
            self.fields["version"] = VersionField()
        if has_password:
            self.fields["imap_password"].help_text = _("A password is saved. Leave this empty to keep it.")
        # The label rows: those posted, else the source's, plus empty rows to add more.
        if self.is_bound:
            indexes = sorted({int(match.group(1)) for key in self.data if (match := ROW.match(key))})
            self.row_indexes = indexes or list(range(EMPTY_ROWS))
        else:
            pairs = list((labels or {}).items())
            self.row_indexes = list(range(len(pairs) + EMPTY_ROWS))
            for index, (label, target) in enumerate(pairs):
                self.initial[f"label_{index}"] = label
                self.initial[f"field_{index}"] = target
        for index in self.row_indexes:
            self.fields[f"label_{index}"] = forms.CharField(label=_("Label in the mail"), max_length=100, required=False)
            self.fields[f"field_{index}"] = forms.ChoiceField(label=_("Field"), choices=field_choices(), required=False)
        self.next_row = max(self.row_indexes, default=-1) + 1

    def main_fields(self):
        skip = {"sample_body", "version", *self.MAIL_FIELDS, *self.IMAP_FIELDS}
        return [self[name] for name in self.fields if name not in skip and not ROW.match(name)]

    def mail_fields(self):
        return [self[name] for name in self.MAIL_FIELDS]

    def imap_fields(self):
        return [self[name] for name in self.IMAP_FIELDS]

    def label_rows(self):
        return [(index, self[f"label_{index}"], self[f"field_{index}"]) for index in self.row_indexes]

    def clean(self):
        cleaned = super().clean()
        labels: dict[str, str] = {}
        seen: dict[str, int] = {}
        for index in self.row_indexes:
            label = (cleaned.get(f"label_{index}") or "").strip()
            target = cleaned.get(f"field_{index}") or ""
            if not label and not target:
                continue
            if not label:
                self.add_error(f"label_{index}", _("Enter the label as it appears in the mail, or choose no field to remove the row."))
                continue
            if not target:
                self.add_error(f"field_{index}", _("Choose the field that “%(label)s” fills.") % {"label": label})
                continue
            folded = re.sub(r"\s+", "", label)
            if folded in seen:
                self.add_error(f"label_{index}", _("“%(label)s” is listed twice.") % {"label": label})
                continue
            seen[folded] = index
            labels[label] = target
        cleaned["labels"] = labels
        return cleaned


class LineChannelForm(DestinationFields):
    is_enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True,
                                    help_text=_("When off, the webhook still answers LINE but new friends and messages are not taken."))
    org_unit = UnitChoiceField(label=_("Receiving unit"), queryset=OrgUnit.objects.none())
    default_assignee = AssigneeChoiceField(label=_("Default assignee"), queryset=User.objects.none(), required=False,
                                           empty_label=_("(nobody: cases stay unassigned)"))
    channel_secret = forms.CharField(label=_("Channel secret"), max_length=100, required=False, strip=True,
                                     widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    channel_access_token = forms.CharField(label=_("Channel access token (long-lived)"), max_length=500, required=False, strip=True,
                                           widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))

    def __init__(self, *args, company_id: int, channel=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices(company_id)
        if channel is not None:
            self.fields["version"] = VersionField()
            for name in ("channel_secret", "channel_access_token"):
                if getattr(channel, name):
                    self.fields[name].help_text = _("Saved. Leave this empty to keep it.")
