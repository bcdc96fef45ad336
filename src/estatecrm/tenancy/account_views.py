"""Account pages: password change, password reset by e-mail, and the unit the user acts in.

Django's auth views do the token and form work; the password itself is written by an action.
"""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.generic.edit import FormView

from estatecrm.tenancy import actions, forms
from estatecrm.tenancy.context_processors import ACTING_UNIT_SESSION_KEY, get_acting_unit, user_memberships


@login_required
def home(request: HttpRequest) -> HttpResponse:
    units = [membership.org_unit for membership in user_memberships(request)]
    form = None
    if len(units) > 1:
        current = get_acting_unit(request)
        form = forms.ActingUnitForm(units=_units_queryset(request), initial={"org_unit": current.pk if current else None})
    from estatecrm.tenancy.views import breakable_address

    return render(request, "tenancy/account/home.html", {
        "acting_unit_form": form, "notifications_form": _notifications_form(request),
        "mail_from_breakable": breakable_address(request.user.customer_mail_from),
    })


def _notifications_form(request: HttpRequest, data=None):
    # A superuser without a company gets no inquiries (cases are a company's).
    if request.user.company_id is None:
        return None
    return forms.NotificationsForm(data, initial={name: getattr(request.user, name) for name in actions.NOTIFICATION_MAIL_FLAGS})


def _units_queryset(request: HttpRequest):
    from estatecrm.tenancy.models import OrgUnit

    unit_ids = [membership.org_unit_id for membership in user_memberships(request)]
    return OrgUnit.objects.for_company(request.user.company_id).filter(pk__in=unit_ids).order_by("path")


@login_required
def acting_unit(request: HttpRequest) -> HttpResponse:
    """Pick the unit to act in among the user's own memberships (anything else is refused by the form)."""
    if request.method != "POST":
        return redirect("account:home")
    form = forms.ActingUnitForm(request.POST, units=_units_queryset(request))
    if form.is_valid():
        unit = form.cleaned_data["org_unit"]
        request.session[ACTING_UNIT_SESSION_KEY] = unit.pk
        messages.success(request, _("You now act in %(unit)s.") % {"unit": unit.name})
        return redirect("account:home")
    return render(request, "tenancy/account/home.html", {"acting_unit_form": form}, status=400)


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's own mail settings: cases assigned to them, new inquiries, customers' replies."""
    form = _notifications_form(request, request.POST if request.method == "POST" else None)
    if request.method != "POST" or form is None:
        return redirect("account:home")
    form.is_valid()  # optional checkboxes: always valid
    if actions.do_set_notification_mails(user=request.user, acting_user=request.user, **form.cleaned_data):
        messages.success(request, _("Saved your notification settings."))
    return redirect(reverse("account:home") + "#notifications")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "tenancy/account/password_change.html"
    success_url = reverse_lazy("account:password_change_done")

    def form_valid(self, form):
        actions.do_set_password(user=form.user, password=form.cleaned_data["new_password1"], acting_user=self.request.user)
        # Keeps this session; the user's other sessions end.
        update_session_auth_hash(self.request, form.user)
        return FormView.form_valid(self, form)


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "tenancy/account/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "tenancy/account/password_reset.html"
    email_template_name = "tenancy/email/password_reset_body.txt"
    subject_template_name = "tenancy/email/password_reset_subject.txt"
    form_class = forms.ThrottledPasswordResetForm
    success_url = reverse_lazy("account:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "tenancy/account/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Also the landing page of an invitation: the invited user sets their first password here."""

    template_name = "tenancy/account/password_reset_confirm.html"
    success_url = reverse_lazy("account:password_reset_complete")

    def form_valid(self, form):
        actions.do_set_password(user=form.user, password=form.cleaned_data["new_password1"], acting_user=form.user)
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return FormView.form_valid(self, form)


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "tenancy/account/password_reset_complete.html"
