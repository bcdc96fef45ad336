"""Forms of the 名寄せ pages: structure only; the rules (who may merge what, limits) stay in the actions."""

from django import forms
from django.utils.translation import gettext_lazy as _

from estatecrm.core.ids import parse_id
from estatecrm.crm.choices import DuplicateRule, SharedValueMarking
from estatecrm.dedup.choices import MergeMode


def _ids_field(**kwargs) -> forms.TypedMultipleChoiceField:
    field = forms.TypedMultipleChoiceField(coerce=int, choices=[], **kwargs)
    # Ids are checked against the actor's visibility by the selectors and actions; the form only parses them.
    field.valid_value = lambda value: parse_id(str(value)) is not None
    return field


class PairForm(forms.Form):
    case_a = forms.IntegerField(min_value=1)
    case_b = forms.IntegerField(min_value=1)


class MergeForm(forms.Form):
    """Steps 1 and 2 of the wizard: the cases, the survivor, the mode, fill-empty; `pick_<field>` (admins,
    on the confirmation page): the case whose value of that field to keep."""

    case_ids = _ids_field(label=_("Cases to merge"), error_messages={"required": _("Select at least two cases.")})
    survivor = forms.IntegerField(label=_("Case to keep"), min_value=1, error_messages={
        "required": _("Choose the case whose information is kept.")})
    mode = forms.ChoiceField(label=_("History"), choices=MergeMode.choices, initial=MergeMode.INTEGRATE, widget=forms.RadioSelect)
    fill_empty = forms.BooleanField(label=_("Fill the kept case's empty fields from the other cases"), required=False)

    def clean(self):
        cleaned = super().clean()
        case_ids = cleaned.get("case_ids") or []
        survivor = cleaned.get("survivor")
        if len(set(case_ids)) < 2:
            self.add_error("case_ids", _("Select at least two cases."))
        elif survivor is not None and survivor not in case_ids:
            self.add_error("survivor", _("The case to keep must be one of the selected cases."))
        return cleaned

    def picks(self, data) -> dict[str, int]:
        """The admin's per-field picks posted as `pick_<field name>=<case id>` (empty: the survivor's own)."""
        picks = {}
        for name, value in data.items():
            if name.startswith("pick_") and value:
                case_id = parse_id(value)
                if case_id is not None:
                    picks[name.removeprefix("pick_")] = case_id
        return picks


class SharedValueForm(forms.Form):
    value = forms.CharField(label=_("Phone number or e-mail address"), max_length=254)
    marking = forms.ChoiceField(label=_("Marking"), choices=[("", _("No marking (the threshold decides)")), *SharedValueMarking.choices],
                                required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class DuplicateSettingsForm(forms.Form):
    enabled_rules = forms.MultipleChoiceField(label=_("Rules that find candidates"), choices=DuplicateRule.choices,
                                              widget=forms.CheckboxSelectMultiple, required=False)
    shared_threshold = forms.IntegerField(label=_("A phone or e-mail is shared when this many customers hold it"), min_value=2,
                                          max_value=1000)
    fuzzy_min_score = forms.FloatField(label=_("Lowest score of the similarity rules (0.5 to 1)"), min_value=0.5, max_value=1.0)
