"""Forms of 「取り込めなかった反響」: structure only; the rules stay in inbox_actions (STYLE.md)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from estatecrm.crm.choices import CaseKind
from estatecrm.inquiries.choices import FIELDS
from estatecrm.inquiries.models import InquirySource
from estatecrm.tenancy.models import OrgUnit, User
from estatecrm.tenancy.permissions import can_place_case

# What each field of choices.FIELDS is called on the pages.
FIELD_LABELS = {
    "customer_name": _("Customer name"),
    "customer_kana": _("Reading (kana)"),
    "phone": _("Phone"),
    "email": _("E-mail"),
    "message": _("Message"),
    "inquiry_type": _("Inquiry type"),
    "inquiry_id": _("Inquiry id"),
    "received_at": _("Received at"),
    "listing_ref": _("Listing number"),
    "listing_name": _("Listing"),
    "listing_price": _("Rent or price"),
    "listing_address": _("Address"),
    "listing_layout": _("Layout"),
    "listing_area": _("Floor area"),
    "listing_station": _("Station"),
    "desired_move_in": _("Move-in"),
}
LABEL_ROWS = 3


def source_choices(actor) -> forms.ModelChoiceField:
    return InquirySource.objects.for_company(actor.company_id).order_by("position", "pk")


class SourceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, source):
        return source.name if source.is_enabled else f"{source.name} ({_('off')})"


class AssignForm(forms.Form):
    """Assign a waiting mail by hand: the source, what the customer wrote, where the case goes."""

    version = forms.CharField(widget=forms.HiddenInput)
    # Chosen above the form (the page reads the mail with that source's labels): carried along hidden.
    source = SourceChoiceField(label=_("Inquiry source"), queryset=InquirySource.objects.none(), widget=forms.HiddenInput)
    customer_name = forms.CharField(label=FIELD_LABELS["customer_name"], max_length=200, required=False)
    customer_kana = forms.CharField(label=FIELD_LABELS["customer_kana"], max_length=200, required=False)
    phone = forms.CharField(label=FIELD_LABELS["phone"], max_length=60, required=False, widget=forms.TextInput(attrs={"type": "tel"}))
    email = forms.CharField(label=FIELD_LABELS["email"], max_length=254, required=False, widget=forms.TextInput(attrs={"type": "email"}))
    message = forms.CharField(label=FIELD_LABELS["message"], required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 5}))
    inquiry_type = forms.CharField(label=FIELD_LABELS["inquiry_type"], max_length=100, required=False)
    inquiry_id = forms.CharField(label=FIELD_LABELS["inquiry_id"], max_length=100, required=False)
    listing_ref = forms.CharField(label=FIELD_LABELS["listing_ref"], max_length=64, required=False)
    listing_name = forms.CharField(label=FIELD_LABELS["listing_name"], max_length=200, required=False)
    listing_price = forms.CharField(label=FIELD_LABELS["listing_price"], max_length=60, required=False)
    listing_address = forms.CharField(label=FIELD_LABELS["listing_address"], max_length=200, required=False)
    listing_layout = forms.CharField(label=FIELD_LABELS["listing_layout"], max_length=30, required=False)
    listing_area = forms.CharField(label=FIELD_LABELS["listing_area"], max_length=30, required=False)
    listing_station = forms.CharField(label=FIELD_LABELS["listing_station"], max_length=200, required=False)
    desired_move_in = forms.CharField(label=FIELD_LABELS["desired_move_in"], max_length=60, required=False)
    org_unit = forms.ModelChoiceField(label=_("Owning unit"), queryset=OrgUnit.objects.none(), required=False,
                                      empty_label=_("The source's unit"))
    assignee = forms.ModelChoiceField(label=_("Main assignee"), queryset=User.objects.none(), required=False,
                                      empty_label=_("The source's default assignee"))
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("The source's kind")), *CaseKind.choices], required=False)

    DATA_FIELDS = ("customer_name", "customer_kana", "phone", "email", "message", "inquiry_type", "inquiry_id", "listing_ref",
                   "listing_name", "listing_price", "listing_address", "listing_layout", "listing_area", "listing_station",
                   "desired_move_in")

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        company_id = actor.company_id
        self.fields["source"].queryset = source_choices(actor)
        units = OrgUnit.objects.for_company(company_id).order_by("path")
        self.fields["org_unit"].queryset = units.filter(pk__in=[unit.pk for unit in units if can_place_case(actor, unit.pk)])
        self.fields["assignee"].queryset = User.objects.filter(company_id=company_id, is_active=True).order_by("name")

    def data_values(self) -> dict:
        return {name: self.cleaned_data.get(name) or "" for name in self.DATA_FIELDS}


class TeachForm(forms.Form):
    """Teach a source labels (label -> field), optionally how its mail is recognized, then read the mail again."""

    version = forms.CharField(widget=forms.HiddenInput)
    source = SourceChoiceField(label=_("Inquiry source"), queryset=InquirySource.objects.none())
    match_sender = forms.BooleanField(label=_("Recognize this source's mail by the sender"), required=False)
    from_contains = forms.CharField(label=_("Sender contains"), max_length=200, required=False)
    match_subject = forms.BooleanField(label=_("Recognize this source's mail by the subject"), required=False)
    subject_contains = forms.CharField(label=_("Subject contains"), max_length=200, required=False)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        sources = source_choices(actor)
        if not actor.is_company_admin:
            sources = sources.filter(org_unit_id__in=actor.admin_unit_ids)
        self.fields["source"].queryset = sources
        field_choices = [("", "---"), *((name, FIELD_LABELS[name]) for name in FIELDS)]
        for index in range(LABEL_ROWS):
            self.fields[f"label_{index}"] = forms.CharField(label=_("Label in the mail"), max_length=100, required=False)
            self.fields[f"field_{index}"] = forms.ChoiceField(label=_("Field it fills"), choices=field_choices, required=False)

    def label_rows(self):
        return [(self[f"label_{index}"], self[f"field_{index}"]) for index in range(LABEL_ROWS)]

    def pairs(self) -> list[tuple[str, str]]:
        return [(self.cleaned_data.get(f"label_{index}") or "", self.cleaned_data.get(f"field_{index}") or "") for index in range(LABEL_ROWS)]


class DismissForm(forms.Form):
    version = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Why is it dismissed?"), max_length=500,
                             widget=forms.TextInput(attrs={"placeholder": _("e.g. advertising mail, not an inquiry")}))


class VersionOnlyForm(forms.Form):
    version = forms.CharField(widget=forms.HiddenInput)
