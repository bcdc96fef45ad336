"""Personal API tokens in the account pages: list your own, create one (shown once), revoke."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.tenancy.tokens import access_token, do_create_api_token, do_revoke_api_token, token_list


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("What the token is for, e.g. “spreadsheet sync”."))


def company_user(request: HttpRequest):
    if request.user.company_id is None:
        raise PermissionDenied()
    return request.user


@login_required
def token_list_view(request: HttpRequest) -> HttpResponse:
    user = company_user(request)
    return render(request, "tenancy/tokens/list.html", {"tokens": token_list(user=user), "form": TokenForm()})


@login_required
@require_http_methods(["GET", "POST"])
def token_create_view(request: HttpRequest) -> HttpResponse:
    user = company_user(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, clear = do_create_api_token(user=user, name=form.cleaned_data["name"], acting_user=user)
        except ApplicationError as error:
            form.add_error(None if "name" not in error.fields else "name", error.message)
        else:
            # The clear token is rendered once, never stored or redirected with; keep it out of caches.
            response = render(request, "tenancy/tokens/created.html", {"token": token, "clear_token": clear})
            add_never_cache_headers(response)
            return response
    status = 400 if request.method == "POST" else 200
    return render(request, "tenancy/tokens/create.html", {"form": form}, status=status)


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    user = company_user(request)
    token = access_token(user, token_id)
    if do_revoke_api_token(token=token, acting_user=user):
        messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("tokens:list")
