"""The page shell: dashboard."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from estatecrm.crm import selectors as crm_selectors
from estatecrm.tenancy.selectors import actor_for


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if request.user.company_id is None:
        return render(request, "web/no_company.html", status=403)
    actor = actor_for(request.user)
    return render(request, "web/dashboard.html", {"actor": actor, "summary": crm_selectors.dashboard_summary(actor=actor)})
