"""Forms of the case pages: structure only; business rules stay in actions (STYLE.md)."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from estatecrm.core.forms import IdsMultipleChoiceField
from estatecrm.core.ids import parse_id
from estatecrm.core.versions import VersionField
from estatecrm.crm.choices import (
    MAX_TAGS_PER_CASE,
    ActivityDirection,
    ActivityKind,
    BuildingAge,
    CaseKind,
    CaseStatus,
    ContactPointKind,
    CustomerKind,
    Feature,
    Gender,
    Layout,
    MoveIn,
    WalkMinutes,
)
from estatecrm.crm.models import Rank, SubStatus, Tag
from estatecrm.normalize import normalize_email, normalize_phone
from estatecrm.tenancy.models import OrgUnit, User

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CompanyChoicesMixin:
    """Limits every master and user choice to the actor's company."""

    def limit_choices(self, actor) -> None:
        company_id = actor.company_id
        querysets = {
            "rank": Rank.objects.for_company(company_id).order_by("position", "name"),
            "sub_status": SubStatus.objects.for_company(company_id).order_by("status", "position", "name"),
            "owning_org": OrgUnit.objects.for_company(company_id).order_by("path"),
            "main_assignee": User.objects.filter(company_id=company_id, is_active=True).order_by("name"),
            "tags": Tag.objects.for_company(company_id).order_by("position", "name"),
            "sub_assignees": User.objects.filter(company_id=company_id, is_active=True).order_by("name"),
        }
        for name, queryset in querysets.items():
            if name in self.fields:
                self.fields[name].queryset = queryset


class CaseForm(CompanyChoicesMixin, forms.Form):
    version = VersionField()
    kind = forms.ChoiceField(label=_("Kind"), choices=CaseKind.choices)
    status = forms.ChoiceField(label=_("Status"), choices=CaseStatus.choices)
    sub_status = forms.ModelChoiceField(label=_("Sub-status"), queryset=SubStatus.objects.none(), required=False)
    rank = forms.ModelChoiceField(label=_("Rank"), queryset=Rank.objects.none(), required=False)
    owning_org = forms.ModelChoiceField(label=_("Owning unit"), queryset=OrgUnit.objects.none())
    main_assignee = forms.ModelChoiceField(label=_("Main assignee"), queryset=User.objects.none(), required=False)
    sub_assignees = IdsMultipleChoiceField(label=_("Sub-assignees"), queryset=User.objects.none(), required=False,
                                                   widget=forms.SelectMultiple(attrs={"size": 5}))
    tags = IdsMultipleChoiceField(label=_("Tags"), queryset=Tag.objects.none(), required=False,
                                          widget=forms.CheckboxSelectMultiple)
    started_on = forms.DateField(label=_("Started on"), required=False, widget=DATE_INPUT)
    first_inquiry_date = forms.DateField(label=_("First inquiry date"), required=False, widget=DATE_INPUT)
    first_inquiry_source = forms.CharField(label=_("First inquiry medium"), max_length=100, required=False)
    first_inquiry_listing_ref = forms.CharField(label=_("First inquiry listing number"), max_length=64, required=False)
    first_inquiry_listing_name = forms.CharField(label=_("First inquiry listing name"), max_length=200, required=False)
    auto_intro_mail = forms.BooleanField(label=_("Automatic listing mails"), required=False)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_choices(actor)

    def clean_tags(self):
        tags = list(self.cleaned_data["tags"])
        if len(tags) > MAX_TAGS_PER_CASE:
            raise forms.ValidationError(_("A case has at most %(count)d tags.") % {"count": MAX_TAGS_PER_CASE})
        return tags


class NewCaseForm(CaseForm):
    """A manual case with its customer: name, reading, one phone and one e-mail are enough to start."""

    version = None  # a new case has no version yet

    customer_kind = forms.ChoiceField(label=_("Customer kind"), choices=CustomerKind.choices, initial=CustomerKind.PERSON)
    name = forms.CharField(label=_("Name"), max_length=200)
    kana = forms.CharField(label=_("Reading (katakana)"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)

    field_order = ["customer_kind", "name", "kana", "phone", "email"]

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        if raw and not normalize_phone(raw).is_valid:
            raise forms.ValidationError(_("Enter a valid phone number (e.g. 090-1234-5678)."))
        return raw

    def clean_email(self):
        raw = self.cleaned_data["email"].strip()
        if raw and not normalize_email(raw).is_valid:
            raise forms.ValidationError(_("Enter a valid e-mail address."))
        return raw


class DesiredConditionsForm(forms.Form):
    version = VersionField()  # of the case: desired conditions move the case's version
    rent_min = forms.DecimalField(label=_("Rent from (10,000 yen)"), max_digits=8, decimal_places=1, min_value=0, required=False)
    rent_max = forms.DecimalField(label=_("Rent up to (10,000 yen)"), max_digits=8, decimal_places=1, min_value=0, required=False)
    includes_management_fee = forms.NullBooleanField(label=_("Including management fee"), required=False)
    price_min = forms.IntegerField(label=_("Price from (10,000 yen)"), min_value=0, required=False)
    price_max = forms.IntegerField(label=_("Price up to (10,000 yen)"), min_value=0, required=False)
    layouts = forms.MultipleChoiceField(label=_("Layouts"), choices=Layout.choices, required=False, widget=forms.CheckboxSelectMultiple)
    area_min = forms.DecimalField(label=_("Floor area from (㎡)"), max_digits=8, decimal_places=2, min_value=0, required=False)
    area_max = forms.DecimalField(label=_("Floor area up to (㎡)"), max_digits=8, decimal_places=2, min_value=0, required=False)
    land_area_min = forms.DecimalField(label=_("Land area from (㎡)"), max_digits=9, decimal_places=2, min_value=0, required=False)
    walk_minutes = forms.TypedChoiceField(label=_("Walk to station"), choices=[("", "---"), *WalkMinutes.choices], coerce=int,
                                          empty_value=None, required=False)
    building_age = forms.TypedChoiceField(label=_("Building age"), choices=[("", "---"), *BuildingAge.choices], coerce=int,
                                          empty_value=None, required=False)
    lines_stations = forms.CharField(label=_("Lines / stations"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                     help_text=_("One per line: line/station, e.g. JR山手線/渋谷駅"))
    areas = forms.CharField(label=_("Areas"), required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text=_("One per line"))
    move_in = forms.ChoiceField(label=_("Move-in"), choices=[("", "---"), *MoveIn.choices], required=False)
    features = forms.MultipleChoiceField(label=_("Features"), choices=Feature.choices, required=False, widget=forms.CheckboxSelectMultiple)
    management_comment = forms.CharField(label=_("Management comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    @staticmethod
    def initial_for(desired) -> dict:
        if desired is None:
            return {}
        initial = {name: getattr(desired, name) for name in DesiredConditionsForm.base_fields if name != "version"}
        initial["lines_stations"] = "\n".join(f"{item.get('line', '')}/{item.get('station', '')}".strip("/") for item in desired.lines_stations)
        initial["areas"] = "\n".join(desired.areas)
        return initial

    def clean_lines_stations(self):
        items = []
        for line in self.cleaned_data["lines_stations"].splitlines():
            if line.strip():
                name, _sep, station = line.strip().partition("/")
                items.append({"line": name.strip(), "station": station.strip()} if station else {"line": "", "station": name.strip()})
        return items

    def clean_areas(self):
        return [line.strip() for line in self.cleaned_data["areas"].splitlines() if line.strip()]

    def clean(self):
        cleaned = super().clean()
        for low, high in (("rent_min", "rent_max"), ("price_min", "price_max"), ("area_min", "area_max")):
            if cleaned.get(low) is not None and cleaned.get(high) is not None and cleaned[low] > cleaned[high]:
                self.add_error(high, _("Must not be lower than the lower limit."))
        return cleaned


class CustomerForm(forms.Form):
    version = VersionField()
    kind = forms.ChoiceField(label=_("Customer kind"), choices=CustomerKind.choices)
    name = forms.CharField(label=_("Name"), max_length=200)
    kana = forms.CharField(label=_("Reading (katakana)"), max_length=200, required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", "---"), *Gender.choices], required=False)
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=DATE_INPUT)
    postal_code = forms.CharField(label=_("Postal code"), max_length=10, required=False,
                                  widget=forms.TextInput(attrs={"data-postal-lookup": "", "inputmode": "numeric", "placeholder": "150-0002"}))
    prefecture = forms.CharField(label=_("Prefecture"), max_length=10, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    street = forms.CharField(label=_("Street address"), max_length=200, required=False)
    building = forms.CharField(label=_("Building"), max_length=200, required=False)
    employer = forms.CharField(label=_("Employer"), max_length=200, required=False)
    annual_income = forms.IntegerField(label=_("Annual income (10,000 yen)"), required=False)
    household_size = forms.IntegerField(label=_("Household size"), required=False)
    is_unsubscribed = forms.BooleanField(label=_("Unsubscribed from mails"), required=False)
    # Postal code, prefecture, birth date... are checked and normalized by the action
    # (crm.actions.check_customer_fields), the same for the API and every other door.


class NextActionForm(forms.Form):
    """次回対応 of a case: when and what; both empty clears it (the action refuses a text without a date)."""

    version = VersionField()
    next_action_at = forms.DateTimeField(label=_("Next action at"), required=False, widget=DATETIME_INPUT)
    next_action = forms.CharField(label=_("What to do"), max_length=200, required=False,
                                  widget=forms.TextInput(attrs={"placeholder": _("e.g. Call about the showing")}))


class ActivityForm(forms.Form):
    """One form for a call, mail, visit or note: what happened, and optionally the next action (次回対応を設定).

    `version` (the case as the page read it) is checked only when a next action is set: adding an
    activity alone never conflicts with someone else's change."""

    NEXT_ACTION_FIELDS = ("next_action_at", "next_action")

    version = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=[(kind.value, kind.label) for kind in (
        ActivityKind.CALL, ActivityKind.EMAIL_OUT, ActivityKind.EMAIL_IN, ActivityKind.VISIT, ActivityKind.SHOWING, ActivityKind.LINE,
        ActivityKind.NOTE)])
    direction = forms.ChoiceField(label=_("Direction"), choices=[("", _("Not applicable")), *ActivityDirection.choices], required=False,
                                  widget=forms.RadioSelect, help_text=_("E-mails take theirs from the kind."))
    occurred_at = forms.DateTimeField(label=_("When"), required=False, widget=DATETIME_INPUT, help_text=_("Empty: now."))
    subject = forms.CharField(label=_("Subject"), max_length=300, required=False)
    body = forms.CharField(label=_("Content"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    next_action_at = forms.DateTimeField(label=_("Next action at"), required=False, widget=DATETIME_INPUT)
    next_action = forms.CharField(label=_("What to do"), max_length=200, required=False)

    def activity_fields(self):
        return [field for field in self.visible_fields() if field.name not in self.NEXT_ACTION_FIELDS]

    def next_action_fields(self):
        return [field for field in self.visible_fields() if field.name in self.NEXT_ACTION_FIELDS]

    def next_action_value(self) -> tuple | None:
        """(when, what) when the form sets a next action, else None (the case's stays as it is)."""
        when, what = self.cleaned_data.get("next_action_at"), self.cleaned_data.get("next_action", "")
        return (when, what) if when is not None or what.strip() else None


class VisitForm(forms.Form):
    visit_at = forms.DateTimeField(label=_("Visit date and time"), widget=DATETIME_INPUT)
    org_unit = forms.ModelChoiceField(label=_("Held by"), queryset=OrgUnit.objects.none(), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=300, required=False)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = OrgUnit.objects.for_company(actor.company_id).order_by("path")

    def clean_visit_at(self):
        value = self.cleaned_data["visit_at"]
        if value < timezone.now() - timezone.timedelta(days=1):
            raise forms.ValidationError(_("A visit appointment is in the future."))
        return value


def case_choice_label(case) -> str:
    """How a case is told apart from others of the same name: its number, status and main assignee."""
    assignee = f" / {case.main_assignee}" if case.main_assignee_id else ""
    return f"#{case.pk} {case.customer.name}（{case.get_status_display()}{assignee}）"


class NewVisitForm(VisitForm):
    """A visit booked from the calendar: the case is one of those the search found (the view checks access)."""

    case = forms.TypedChoiceField(label=_("Case"), coerce=int, choices=(), widget=forms.RadioSelect)
    field_order = ["case", "visit_at", "org_unit", "subject"]

    def __init__(self, *args, cases=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].choices = [(case.pk, case_choice_label(case)) for case in cases]


class VisitMoveForm(forms.Form):
    """Another date and time (and holding unit) for an open visit, at the version the page was read."""

    visit_at = forms.DateTimeField(label=_("Visit date and time"), widget=DATETIME_INPUT)
    org_unit = forms.ModelChoiceField(label=_("Held by"), queryset=OrgUnit.objects.none())
    version = VersionField()

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = OrgUnit.objects.for_company(actor.company_id).order_by("path")


class VisitCompleteForm(forms.Form):
    result = forms.CharField(label=_("Result of the visit"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)
    version = VersionField()


class VisitCancelForm(forms.Form):
    version = VersionField()


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


class BulkForm(CompanyChoicesMixin, forms.Form):
    operation = forms.ChoiceField(label=_("Bulk action"), choices=[
        ("reassign", _("Reassign main assignee")), ("add_tag", _("Add tag")), ("remove_tag", _("Remove tag")),
        ("set_status", _("Change status")), ("trash", _("Move to trash"))])
    main_assignee = forms.ModelChoiceField(label=_("New main assignee"), queryset=User.objects.none(), required=False)
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.none(), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=[("", "---"), *CaseStatus.choices], required=False)
    case_ids = forms.TypedMultipleChoiceField(coerce=int, required=True, choices=[], error_messages={
        "required": _("Select at least one case.")})

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_choices(actor)
        self.fields["tag"].queryset = Tag.objects.for_company(actor.company_id).order_by("position", "name")
        # Ids are checked against the actor's visibility by the action; the form only parses them.
        self.fields["case_ids"].valid_value = lambda value: parse_id(str(value)) is not None

    def clean(self):
        cleaned = super().clean()
        needed = {"reassign": "main_assignee", "add_tag": "tag", "remove_tag": "tag", "set_status": "status"}.get(cleaned.get("operation"))
        if needed and not cleaned.get(needed):
            self.add_error(needed, _("This field is required."))
        return cleaned

    def select_options(self) -> dict[str, list]:
        """Each select's (value, label) options, read once: the case list writes its selects out. Through
        iter(): a model field's choices have a len() that counts the rows in a query of its own."""
        return {name: list(iter(self.fields[name].choices)) for name in ("operation", "main_assignee", "tag", "status")}

    def value(self):
        operation = self.cleaned_data["operation"]
        return {"reassign": self.cleaned_data.get("main_assignee"), "add_tag": self.cleaned_data.get("tag"),
                "remove_tag": self.cleaned_data.get("tag"), "set_status": self.cleaned_data.get("status")}.get(operation)



class ContactForm(forms.Form):
    """A contact person's name and reading; its phones and e-mails are the rows of ContactPointFormSet."""

    version = VersionField()
    name = forms.CharField(label=_("Name"), max_length=200)
    kana = forms.CharField(label=_("Reading"), max_length=200, required=False)


class ContactPointForm(forms.Form):
    """One phone or e-mail row; a row left empty, or ticked for removal, is not kept."""

    point_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label=_("Kind"), choices=ContactPointKind.choices)
    raw = forms.CharField(label=_("Phone or e-mail"), max_length=300, required=False,
                          widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}))


ContactPointFormSet = forms.formset_factory(ContactPointForm, extra=2, can_delete=True, max_num=20, absolute_max=40)


class ReviewForm(forms.Form):
    version = VersionField()
    note = forms.CharField(label=_("Note"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class VersionForm(forms.Form):
    """A button that changes an object: the version of the page it was pressed on."""

    version = VersionField()
