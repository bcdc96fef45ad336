"""The forms of the staff pages: structure only (the rules are the actions')."""

from django import forms
from django.utils.translation import gettext_lazy as _

from estatecrm.staff.actions import HANDOVER_NOTE_MAX_LENGTH

WITH_CASES = "with_cases"
AGENT_ONLY = "agent_only"
TRASH = "trash"
REASSIGN = "reassign"
UNSUBSCRIBED_ALL = "all"
UNSUBSCRIBED_ONLY = "only"
UNSUBSCRIBED_EXCLUDE = "exclude"


def _user_label(user) -> str:
    return user.name or user.email


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{_user_label(obj)} ({obj.email})" if obj.name else obj.email


class TransferChoiceForm(forms.Form):
    """Step 1 of 異動: where to and how."""

    to_unit = forms.ModelChoiceField(label=_("Target unit"), queryset=None, empty_label=_("Choose a unit"))
    mode = forms.ChoiceField(label=_("What moves"), widget=forms.RadioSelect, initial=WITH_CASES, choices=[
        (WITH_CASES, _("The agent and their customers")), (AGENT_ONLY, _("The agent only"))])

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_unit"].queryset = units


class HandoverNoteField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(label=_("Handover note"), required=False, max_length=HANDOVER_NOTE_MAX_LENGTH,
                         widget=forms.Textarea(attrs={"rows": 3}),
                         help_text=_("Optional. Written once, it appears on the timeline of each case."), **kwargs)


class TransferConfirmForm(TransferChoiceForm):
    """The confirmation of 異動 (and the one-step 「reassign all and transfer」 of agent only)."""

    keep_sub_assignments = forms.ChoiceField(label=_("Sub-assignee roles on the cases left behind"), widget=forms.RadioSelect,
                                             initial="keep", required=False, choices=[
                                                 ("keep", _("Keep them")), ("remove", _("Remove them"))])
    reassign_to = UserChoiceField(label=_("New main assignee"), queryset=None, required=False)
    handover_note = HandoverNoteField()

    def __init__(self, *args, units, users, **kwargs):
        super().__init__(*args, units=units, **kwargs)
        self.fields["reassign_to"].queryset = users


class RetireForm(forms.Form):
    choice = forms.ChoiceField(label=_("Their cases"), widget=forms.RadioSelect, initial=REASSIGN, choices=[
        (REASSIGN, _("Hand every case over to the assignee below")), (TRASH, _("Move them to the trash (restorable for 30 days)"))])
    reassign_to = UserChoiceField(label=_("New main assignee"), queryset=None, required=False)
    handover_note = HandoverNoteField()

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reassign_to"].queryset = users

    def clean(self):
        data = super().clean()
        if data.get("choice") == REASSIGN and not data.get("reassign_to"):
            self.add_error("reassign_to", _("Choose who takes over the cases."))
        return data


class SuccessorForm(forms.Form):
    key = forms.CharField(max_length=100)
    successor = UserChoiceField(label=_("Successor"), queryset=None, empty_label=_("Choose a successor"))
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["successor"].queryset = users


class CaseFilterForm(forms.Form):
    unsubscribed = forms.ChoiceField(label=_("Unsubscribed customers"), required=False, initial=UNSUBSCRIBED_ALL, choices=[
        (UNSUBSCRIBED_ALL, _("Including unsubscribed (all)")), (UNSUBSCRIBED_ONLY, _("Unsubscribed only")),
        (UNSUBSCRIBED_EXCLUDE, _("Excluding unsubscribed"))])

    def value(self) -> str:
        if self.is_valid():
            return self.cleaned_data["unsubscribed"] or UNSUBSCRIBED_ALL
        return UNSUBSCRIBED_ALL


class ReassignForm(forms.Form):
    """Reassign one case, the ticked ones, or all of the filter (`scope` = all); the view reads the ids (`case_ids`)."""

    scope = forms.ChoiceField(required=False, choices=[("selected", "selected"), ("all", "all")])
    to_user = UserChoiceField(label=_("New main assignee"), queryset=None, empty_label=_("Choose a new main assignee"))
    handover_note = HandoverNoteField()

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = users

