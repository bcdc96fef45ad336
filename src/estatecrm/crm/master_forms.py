"""Forms of the master pages (ranks, sub-statuses, tags, custom fields, projects): structure only."""

from django import forms
from django.utils.translation import gettext_lazy as _

from estatecrm.core.forms import IdsMultipleChoiceField
from estatecrm.core.versions import VersionField
from estatecrm.crm.choices import CaseKind, CaseStatus, CustomerKind, CustomFieldType
from estatecrm.crm.models import CustomField


class NamedMasterForm(forms.Form):
    """A tag (and the base of the other named masters): name and display order."""

    name = forms.CharField(label=_("Name"), max_length=100)
    position = forms.IntegerField(label=_("Display order"), min_value=0, max_value=100000, required=False)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["version"] = VersionField()


class RankForm(NamedMasterForm):
    name = forms.CharField(label=_("Name"), max_length=50)


class SubStatusForm(NamedMasterForm):
    status = forms.ChoiceField(label=_("Status"), choices=CaseStatus.choices)
    field_order = ["status", "name", "position"]

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, editing=editing, **kwargs)
        if editing:
            # Cases point at the sub-status under its status: moving it would break that pairing.
            self.fields["status"].disabled = True


class CustomFieldForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    field_type = forms.ChoiceField(label=_("Type"), choices=CustomFieldType.choices, initial=CustomFieldType.TEXT)
    choices = forms.CharField(
        label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One choice per line; for the choice types only."),
    )
    is_required = forms.BooleanField(label=_("Required"), required=False)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            # Values are stored under the field's name: renaming would orphan them.
            self.fields["name"].disabled = True
            self.fields["name"].required = False
            self.fields["name"].help_text = _("The name cannot be changed: values are stored under it.")
            self.fields["version"] = VersionField()

    def clean_choices(self) -> list[str]:
        # One choice per line; which types take choices is the action's rule (do_upsert_custom_field).
        return self.cleaned_data["choices"].splitlines()


class CustomFieldMultipleChoiceField(IdsMultipleChoiceField):
    def label_from_instance(self, field: CustomField) -> str:
        return f"{field.name} ({field.get_field_type_display()})"


class ProjectForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    custom_fields = CustomFieldMultipleChoiceField(
        label=_("Custom fields"), queryset=CustomField.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("The custom fields that the project's imports carry."),
    )
    # Not sent: unchanged (a new project: 賃貸 / 個人).
    default_case_kind = forms.ChoiceField(label=_("Case kind of its imports"), choices=CaseKind.choices, initial=CaseKind.RENT, required=False)
    default_customer_kind = forms.ChoiceField(label=_("Customer kind of its imports"), choices=CustomerKind.choices, required=False,
                                              initial=CustomerKind.PERSON, help_text=_("Each import can change both on its mapping step."))

    def __init__(self, *args, fields, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["custom_fields"].queryset = fields
        if editing:
            self.fields["version"] = VersionField()
