"""Listing forms: structure only (types, lengths, choices); the rules are in actions.py."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from estatecrm.core.versions import VersionField
from estatecrm.crm.choices import (
    CaseKind,
    Feature,
    IntroductionMethod,
    IntroductionReaction,
    Layout,
    ListingStatus,
)
from estatecrm.normalize import normalize_postal_code
from estatecrm.tenancy.models import User

STATION_ROWS = 3


class MonthField(forms.DateField):
    """A year and month (`2015-04`, the browser's month input); stored as the first day of the month."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")

    def __init__(self, **kwargs):
        super().__init__(input_formats=["%Y-%m", "%Y-%m-%d", "%Y/%m"], **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace(day=1) if isinstance(value, datetime.date) else value


class ListingForm(forms.Form):
    ref = forms.CharField(label=_("Listing number"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Rent or sale"), choices=[(CaseKind.RENT, _("For rent")), (CaseKind.BUY, _("For sale"))])
    status = forms.ChoiceField(label=_("Status"), choices=ListingStatus.choices, initial=ListingStatus.AVAILABLE)
    rent = forms.DecimalField(label=_("Rent (10,000 yen)"), max_digits=8, decimal_places=1, min_value=0, required=False)
    management_fee = forms.IntegerField(label=_("Management fee (yen)"), min_value=0, max_value=10_000_000, required=False)
    deposit_months = forms.DecimalField(label=_("Deposit (months)"), max_digits=4, decimal_places=1, min_value=0, required=False)
    key_money_months = forms.DecimalField(label=_("Key money (months)"), max_digits=4, decimal_places=1, min_value=0, required=False)
    price = forms.IntegerField(label=_("Price (10,000 yen)"), min_value=0, max_value=2_000_000_000, required=False)
    layout = forms.ChoiceField(label=_("Layout"), choices=[("", "---"), *Layout.choices], required=False)
    area = forms.DecimalField(label=_("Floor area (㎡)"), max_digits=8, decimal_places=2, min_value=0, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=10, required=False)
    prefecture = forms.CharField(label=_("Prefecture"), max_length=10, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    street = forms.CharField(label=_("Street address"), max_length=200, required=False)
    building = forms.CharField(label=_("Building"), max_length=200, required=False)
    built_on = MonthField(label=_("Built in (year and month)"), required=False)
    features = forms.MultipleChoiceField(label=_("Features"), choices=Feature.choices, required=False, widget=forms.CheckboxSelectMultiple)
    suumo_id = forms.CharField(label=_("SUUMO id"), max_length=64, required=False)
    homes_id = forms.CharField(label=_("LIFULL HOME'S id"), max_length=64, required=False)
    athome_id = forms.CharField(label=_("at home id"), max_length=64, required=False)
    agent = forms.ModelChoiceField(label=_("Agent in charge"), queryset=User.objects.none(), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = User.objects.filter(company_id=actor.company_id, is_active=True).order_by("name")
        for row in range(STATION_ROWS):
            self.fields[f"line_{row}"] = forms.CharField(label=_("Line"), max_length=100, required=False)
            self.fields[f"station_{row}"] = forms.CharField(label=_("Station"), max_length=100, required=False)
            self.fields[f"walk_{row}"] = forms.IntegerField(label=_("Walk (min)"), min_value=0, max_value=120, required=False)

    def listing_fields(self):
        """The visible fields but the station rows (drawn apart, as rows of line, station and walk)."""
        return [field for field in self.visible_fields() if not field.name.startswith(("line_", "station_", "walk_"))]

    def station_rows(self):
        return [(self[f"line_{row}"], self[f"station_{row}"], self[f"walk_{row}"]) for row in range(STATION_ROWS)]

    def clean_postal_code(self):
        text = self.cleaned_data["postal_code"].strip()
        if not text:
            return ""
        code = normalize_postal_code(text)
        if not code.is_valid:
            raise forms.ValidationError(_("Enter a postal code of 7 digits, e.g. 150-0002."))
        return code.value

    def listing_values(self) -> dict:
        data = self.cleaned_data
        names = [name for name in self.base_fields if name != "version"]
        return {name: data[name] if data[name] is not None else (None if name in NULLABLE else "") for name in names}

    def stations(self) -> list[dict]:
        data = self.cleaned_data
        return [{"line": data[f"line_{row}"], "station": data[f"station_{row}"], "walk_minutes": data[f"walk_{row}"]}
                for row in range(STATION_ROWS) if data[f"station_{row}"].strip() or data[f"line_{row}"].strip()]

    @staticmethod
    def initial_for(listing, stations) -> dict:
        from estatecrm.listings.actions import LISTING_FIELDS

        initial = {name: getattr(listing, name) for name in LISTING_FIELDS}
        for row, item in enumerate(stations[:STATION_ROWS]):
            initial.update({f"line_{row}": item.line, f"station_{row}": item.station, f"walk_{row}": item.walk_minutes})
        return initial


NULLABLE = {"rent", "management_fee", "deposit_months", "key_money_months", "price", "area", "built_on", "agent"}


class ListingEditForm(ListingForm):
    version = VersionField()


class PhotoForm(forms.Form):
    photo = forms.FileField(label=_("Photo"))


class IntroduceForm(forms.Form):
    listing_ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], error_messages={"required": _("Select at least one listing.")})
    method = forms.ChoiceField(label=_("Introduced by"), choices=IntroductionMethod.choices)
    introduced_on = forms.DateField(label=_("Introduced on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, listing_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["listing_ids"].choices = [(pk, pk) for pk in listing_ids]


class ReactionForm(forms.Form):
    reaction = forms.ChoiceField(label=_("Reaction"), choices=[("", "---"), *IntroductionReaction.choices], required=False)
