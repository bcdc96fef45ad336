"""Forms of the data migration pages: structure only; the rules live in actions."""

from django import forms
from django.utils.translation import gettext_lazy as _


class UploadForm(forms.Form):
    bundle = forms.FileField(label=_("Export bundle (ZIP)"), help_text=_("The ZIP file that the desktop app exported; hundreds of MB are fine."),
                             widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}))
    staff_map = forms.FileField(label=_("Staff map (optional)"), required=False,
                                help_text=_("CSV “社員コード,email” for staff whose e-mail address differs from the user's."),
                                widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))


class _FallbackField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} <{obj.email}>" if obj.name else obj.email


class _StartForm(forms.Form):
    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fallback_assignee"] = _FallbackField(
            queryset=users, required=False, label=_("Fallback main assignee"),
            help_text=_("Takes the cases whose main assignee matches no user; leave empty to skip those cases."),
        )


class FullMigrationForm(_StartForm):
    since = forms.DateField(label=_("Start date (optional)"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text=_("Only cases started on or after this date; empty: every eligible case."))


class QuickMigrationForm(_StartForm):
    confirm = forms.BooleanField(label=_("I have checked the list: start the quick migration"), required=True)


class RevertForm(forms.Form):
    force = forms.BooleanField(label=_("Revert even the cases edited since"), required=False)
