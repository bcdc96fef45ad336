"""Forms of the import pages: structure only; the rules live in the actions (STYLE.md)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from estatecrm.core.forms import IdsMultipleChoiceField
from estatecrm.crm.choices import CaseKind, CustomerKind
from estatecrm.crm.models import Project
from estatecrm.leads.choices import DEFAULT_DUPLICATE_KEYS, DuplicateKey, DuplicatePolicy
from estatecrm.leads.fields import NEW_CUSTOM_PREFIX, NOTE_PREFIX
from estatecrm.tenancy.models import Workgroup

ENCODING_CHOICES = [
    ("", _("Detect automatically")),
    ("cp932", "Shift_JIS (CP932)"),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 (BOM)"),
    ("utf-16", "UTF-16"),
    ("euc-jp", "EUC-JP"),
]
DELIMITER_CHOICES = [
    ("", _("Detect automatically")),
    (",", _("Comma")),
    ("\t", _("Tab")),
    (";", _("Semicolon")),
    ("|", _("Vertical bar")),
]
# The default fields' labels in the request's language (fields.py fixes them when it is imported).
FIELD_LABELS = {
    "lead_name": _("Lead name"), "contact_name": _("Contact name"), "phone": _("Phone"), "contact_kana": _("Contact reading"),
    "postal_code": _("Postal code"), "prefecture": _("Prefecture"), "city": _("City"), "street": _("Street and number"),
    "building": _("Building"), "email": _("E-mail"), "homepage": _("Homepage"), "assignee_email": _("Assignee e-mail"),
    "first_inquiry_date": _("First inquiry date"), "first_inquiry_source": _("First inquiry medium"), "birth_date": _("Date of birth"),
    "note": _("Remarks"), "case_kind": _("Case kind"), "customer_kind": _("Customer kind"),
}
# The default fields an unmapped column can be sent to with one click on the mapping step.
ONE_CLICK_FIELDS = ("first_inquiry_date", "first_inquiry_source", "birth_date")


def field_label(field) -> str:
    """A field's label in the request's language; a custom field is called by its name."""
    return str(FIELD_LABELS.get(field.key, field.label))
MAPPING_PREFIX = "map_"


class UploadForm(forms.Form):
    """Step 1: the file and the project it goes into (an existing one, or a new one by name)."""

    # Empty files pass here so that the reader refuses them with its own message.
    file = forms.FileField(label=_("File"), help_text=_("CSV, TSV, TXT, XLSX, XLS or ODS"), allow_empty_file=True,
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx,.xlsm,.xls,.ods"}))
    project = forms.ModelChoiceField(label=_("Project"), queryset=Project.objects.none(), required=False,
                                     empty_label=_("(create a new project)"))
    new_project = forms.CharField(label=_("New project name"), max_length=200, required=False,
                                  help_text=_("A new project starts with the default fields."))
    encoding = forms.ChoiceField(label=_("Character encoding"), choices=ENCODING_CHOICES, required=False)
    sheet = forms.CharField(label=_("Sheet"), max_length=200, required=False, help_text=_("Empty: the first sheet with data."))
    header_row = forms.IntegerField(label=_("Header row"), min_value=1, max_value=1000, required=False,
                                    help_text=_("Empty: detected from the first rows."))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.for_company(actor.company_id).order_by("name")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("project") and not (cleaned.get("new_project") or "").strip():
            self.add_error("project", _("Choose a project or name a new one."))
        return cleaned


class ReadSettingsForm(forms.Form):
    """How to read the file, shown as detected and changeable."""

    encoding = forms.ChoiceField(label=_("Character encoding"), choices=ENCODING_CHOICES, required=False)
    delimiter = forms.ChoiceField(label=_("Delimiter"), choices=DELIMITER_CHOICES, required=False)
    sheet = forms.ChoiceField(label=_("Sheet"), choices=[], required=False)
    header_row = forms.IntegerField(label=_("Header row"), min_value=1, max_value=1000, required=False)

    def __init__(self, *args, sheets=(), **kwargs):
        super().__init__(*args, **kwargs)
        if sheets:
            self.fields["sheet"].choices = [(name, name) for name in sheets]
        else:
            del self.fields["sheet"]


class MappingForm(forms.Form):
    """Step 2: one column per field, the kinds the import creates, the columns kept as notes or in new custom
    fields, the duplicate check and an optional name to save the mapping under."""

    # Not sent (an older page, a script): the project's defaults.
    case_kind = forms.ChoiceField(label=_("Kind of case"), choices=CaseKind.choices, widget=forms.RadioSelect, initial=CaseKind.RENT,
                                  required=False)
    customer_kind = forms.ChoiceField(label=_("Kind of customer"), choices=CustomerKind.choices, widget=forms.RadioSelect,
                                      initial=CustomerKind.PERSON, required=False)
    note_columns = forms.MultipleChoiceField(required=False, widget=forms.MultipleHiddenInput)
    new_custom_columns = forms.MultipleChoiceField(required=False, widget=forms.MultipleHiddenInput)

    duplicate_keys = forms.MultipleChoiceField(label=_("Duplicate check by"), choices=DuplicateKey.choices, required=False,
                                               widget=forms.CheckboxSelectMultiple, initial=DEFAULT_DUPLICATE_KEYS)
    on_duplicate = forms.ChoiceField(label=_("When a row is a duplicate"), choices=DuplicatePolicy.choices, widget=forms.RadioSelect,
                                     initial=DuplicatePolicy.ADD)
    mapping_name = forms.CharField(label=_("Save this mapping as"), max_length=100, required=False,
                                   help_text=_("Saved with the project when you start the import or press “Save mapping”."))

    def __init__(self, *args, lead_fields, headers, mapping=None, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead_fields = list(lead_fields)
        columns = [(header, header) for header in dict.fromkeys(headers) if header]
        choices = [("", _("(not imported)"))] + columns
        mapping = mapping or {}
        for field in self.lead_fields:
            self.fields[MAPPING_PREFIX + field.key] = forms.ChoiceField(
                label=field_label(field), choices=choices if field.key != "lead_name" else [("", _("(the contact's name)")), *columns],
                required=False, initial=mapping.get(field.key, ""),
            )
            self.fields[MAPPING_PREFIX + field.key].is_required_field = field.is_required
        self.fields[MAPPING_PREFIX + "lead_name"].help_text = _("A list of people leaves it empty: each lead is named after its contact.")
        for name, prefix in (("note_columns", NOTE_PREFIX), ("new_custom_columns", NEW_CUSTOM_PREFIX)):
            self.fields[name].choices = columns
            self.fields[name].initial = [key.removeprefix(prefix) for key in mapping if key.startswith(prefix)]
        if project is not None:
            self.fields["case_kind"].initial = project.default_case_kind
            self.fields["customer_kind"].initial = project.default_customer_kind

    def mapping_fields(self):
        return [self[MAPPING_PREFIX + field.key] for field in self.lead_fields]

    def mapping(self) -> dict[str, str]:
        """{field key: header} of the mapped fields (bound and valid: the chosen columns; else the initial ones)."""
        if self.is_bound and self.is_valid():
            values = {field.key: self.cleaned_data.get(MAPPING_PREFIX + field.key) for field in self.lead_fields}
            columns = {name: self.cleaned_data.get(name) or [] for name in ("note_columns", "new_custom_columns")}
        else:
            values = {field.key: self.fields[MAPPING_PREFIX + field.key].initial for field in self.lead_fields}
            columns = {name: self.fields[name].initial or [] for name in ("note_columns", "new_custom_columns")}
        mapping = {key: header for key, header in values.items() if header}
        mapping.update({f"{NOTE_PREFIX}{header}": header for header in columns["note_columns"]})
        mapping.update({f"{NEW_CUSTOM_PREFIX}{header}": header for header in columns["new_custom_columns"]})
        return mapping

    def unmapped_columns(self, headers) -> list[str]:
        """The file's columns that no field takes: listed on the page (「取り込まれない列」) with their one-click targets."""
        taken = set(self.mapping().values())
        return [header for header in dict.fromkeys(headers) if header and header not in taken]

    def free_one_click_fields(self) -> list[tuple[str, str]]:
        """(key, label) of the one-click default fields no column feeds yet."""
        mapping = self.mapping()
        return [(key, str(FIELD_LABELS[key])) for key in ONE_CLICK_FIELDS if key not in mapping]

    def field_name(self, key: str) -> str:
        return MAPPING_PREFIX + key


class DoNotCallImportForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("Columns: lead name and/or phone number, optionally a note."), allow_empty_file=True)
    workgroups = IdsMultipleChoiceField(label=_("Workgroups"), queryset=Workgroup.objects.none(), required=False,
                                                widget=forms.CheckboxSelectMultiple,
                                                help_text=_("None chosen: the whole company."))
    encoding = forms.ChoiceField(label=_("Character encoding"), choices=ENCODING_CHOICES, required=False)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workgroups"].queryset = Workgroup.objects.for_company(actor.company_id).order_by("name")


class RevertForm(forms.Form):
    force = forms.BooleanField(label=_("Revert anyway, undoing the edits made since"), required=False)
