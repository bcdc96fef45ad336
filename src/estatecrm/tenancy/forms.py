"""Forms of the settings pages and the account pages: structure only, business rules live in actions."""

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext_lazy as _

from estatecrm.core.forms import IdsMultipleChoiceField
from estatecrm.core.versions import VersionField
from estatecrm.tenancy.choices import CaseVisibility, Role
from estatecrm.tenancy.models import OrgUnit


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, unit: OrgUnit) -> str:
        return "\u3000" * max(unit.depth, 0) + f"{unit.name} ({unit.code})"


class OrgUnitForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=200)
    parent = UnitChoiceField(label=_("Parent unit"), queryset=OrgUnit.objects.none(), required=False, empty_label=_("(top level)"))
    case_visibility = forms.ChoiceField(label=_("Case visibility"), choices=CaseVisibility.choices, initial=CaseVisibility.ORG)

    def __init__(self, *args, parents, allow_top_level: bool, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents
        self.fields["parent"].required = not allow_top_level
        if editing:
            # The code is the unit's key for imports and tenant files: shown, never changed here.
            self.fields["code"].disabled = True
            self.fields["code"].required = False
            self.fields["version"] = VersionField()


class UserNameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)


class CustomerMailFromForm(forms.Form):
    # Syntax, length and normalisation are the action's (one home for the rule, shared with every caller).
    address = forms.CharField(label=_("Address to send from"), max_length=254, required=False,
                              help_text=_("Customers receive this user's e-mail from this address and reply to it. "
                                          "It stays the same when the user moves to another unit."))
    confirmed = forms.BooleanField(label=_("I understand that customers' replies to the old address will no longer arrive"),
                                   required=False)


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    name = forms.CharField(label=_("Name"), max_length=200)
    org_unit = UnitChoiceField(label=_("Organisation unit"), queryset=OrgUnit.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = units


class MembershipAddForm(forms.Form):
    org_unit = UnitChoiceField(label=_("Organisation unit"), queryset=OrgUnit.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = units


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class UserMultipleChoiceField(IdsMultipleChoiceField):
    def label_from_instance(self, user) -> str:
        return f"{user.name} <{user.email}>" if user.name else user.email


class WorkgroupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    members = UserMultipleChoiceField(label=_("Members"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, users, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = users
        if editing:
            self.fields["version"] = VersionField()


class ActingUnitForm(forms.Form):
    org_unit = UnitChoiceField(label=_("Unit to act in"), queryset=OrgUnit.objects.none(), empty_label=None,
                               widget=forms.RadioSelect)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = units


class NotificationsForm(forms.Form):
    assignment_mail = forms.BooleanField(
        label=_("Cases assigned to me"), required=False,
        help_text=_("A mail when someone makes you the main assignee of cases (a transfer, a retirement, a reassignment)."))
    inquiry_mail = forms.BooleanField(label=_("Receive an e-mail for each new inquiry assigned to me"), required=False,
                                      help_text=_("One mail for each inquiry (portal, website, LINE) that becomes a case assigned "
                                                  "to you, with the customer's name and a link to the case."))
    reply_mail = forms.BooleanField(
        label=_("Customers' replies"), required=False,
        help_text=_("A mail when a customer of one of your cases writes on LINE, with the start of the message."))


class ThrottledPasswordResetForm(PasswordResetForm):
    """Django's reset form, sending to an address at most once per PASSWORD_RESET_MAIL_INTERVAL_SECONDS.
    The page answers the same either way, so it still reveals nothing about the address."""

    def get_users(self, email):
        from estatecrm.tenancy.actions import do_claim_password_reset_mail

        for user in super().get_users(email):
            if do_claim_password_reset_mail(user=user):
                yield user
