"""Settings pages of the company's CRM masters: ranks, statuses and sub-statuses, tags, custom
fields, projects. Company admins only (masters are company-wide); other companies' ids are 404.
Deleting a master that is in use is refused with the count of uses."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from estatecrm.audit.stale import history_filter, last_event_id
from estatecrm.core.errors import ApplicationError, Conflict, NotFound
from estatecrm.core.versions import ReadVersion, rebound_at_version
from estatecrm.crm import actions, master_forms
from estatecrm.crm.choices import CaseStatus
from estatecrm.crm.models import CustomField, Project, ProjectField, Rank, SubStatus, Tag
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.selectors import Actor
from estatecrm.tenancy.views import add_error

company_admin_view = permission_view("masters_edit")

# kind in the URL -> (model, form class, list url name, title)
NAMED_KINDS = {
    "ranks": (Rank, master_forms.RankForm, "masters:ranks", gettext_lazy("Ranks")),
    "tags": (Tag, master_forms.NamedMasterForm, "masters:tags", gettext_lazy("Tags")),
}
DELETE_KINDS = {
    "ranks": (Rank, "masters:ranks"),
    "tags": (Tag, "masters:tags"),
    "sub-statuses": (SubStatus, "masters:statuses"),
    "fields": (CustomField, "masters:fields"),
    "projects": (Project, "masters:projects"),
}


def _lookup(model, actor: Actor, pk: int):
    """A master of the actor's company, else NotFound (404: never reveal another company's ids)."""
    instance = model.objects.for_company(actor.company_id).filter(pk=pk).first()
    if instance is None:
        raise NotFound()
    return instance


def _next_position(queryset) -> int:
    return (queryset.aggregate(top=Max("position"))["top"] or 0) + 1


def _version_now(actor: Actor, instance) -> ReadVersion:
    """The version an edit page hands out: the master's ETag and its last audit event."""
    return ReadVersion.of(instance, seen_event_id=last_event_id(actor.company_id, history_filter(instance)))


def _with_use_counts(instances):
    for instance in instances:
        instance.use_count = actions.master_use_count(instance)
    return instances


# ---------------------------------------------------------------------------------------------
# Ranks and tags


@company_admin_view
def named_list(request: HttpRequest, actor: Actor, kind: str) -> HttpResponse:
    model, form_class, list_url, title = NAMED_KINDS[kind]
    queryset = model.objects.for_company(actor.company_id)
    form = form_class(request.POST or None, initial={"position": _next_position(queryset)})
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"].strip()
        position = form.cleaned_data["position"] or _next_position(queryset)
        try:
            with transaction.atomic():
                actions.check_master_name_free(model, company_id=actor.company_id, name=name)
                upsert = actions.do_upsert_rank if model is Rank else actions.do_upsert_tag
                upsert(company=actor.company, name=name, position=position, acting_user=request.user)
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Created “%(name)s”.") % {"name": name})
            return redirect(list_url)
    return render(request, "crm/masters/named_list.html", {
        "actor": actor, "kind": kind, "title": title, "items": _with_use_counts(list(queryset.order_by("position", "pk"))),
        "form": form,
    })


@company_admin_view
def named_edit(request: HttpRequest, actor: Actor, kind: str, pk: int) -> HttpResponse:
    model, form_class, list_url, title = NAMED_KINDS[kind]
    instance = _lookup(model, actor, pk)
    version = _version_now(actor, instance)
    form_kwargs = {"editing": True, "initial": {"name": instance.name, "position": instance.position, "version": version.as_field()}}
    form = form_class(request.POST or None, **form_kwargs)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                actions.do_update_master(instance=instance, name=form.cleaned_data["name"], position=form.cleaned_data["position"],
                                         acting_user=request.user, read_version=ReadVersion.from_field(form.cleaned_data["version"]))
        except Conflict as error:
            form, status = rebound_at_version(request.POST, form_class, version, error.message, **form_kwargs), 409
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Saved “%(name)s”.") % {"name": instance.name})
            return redirect(list_url)
    return render(request, "crm/masters/named_form.html", {
        "actor": actor, "kind": kind, "title": title, "instance": instance, "form": form, "list_url": list_url,
    }, status=status)


@require_POST
@company_admin_view
def master_delete(request: HttpRequest, actor: Actor, kind: str, pk: int) -> HttpResponse:
    if kind not in DELETE_KINDS:
        raise NotFound()
    model, list_url = DELETE_KINDS[kind]
    instance = _lookup(model, actor, pk)
    name = instance.name
    try:
        with transaction.atomic():
            actions.do_delete_master(instance=instance, acting_user=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Deleted “%(name)s”.") % {"name": name})
    return redirect(list_url)


# ---------------------------------------------------------------------------------------------
# Statuses (fixed) and their sub-statuses


@company_admin_view
def status_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    sub_statuses = _with_use_counts(list(SubStatus.objects.for_company(actor.company_id).order_by("position", "pk")))
    form = master_forms.SubStatusForm(request.POST or None, initial={"status": request.GET.get("status", CaseStatus.FOLLOWING)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        name = data["name"].strip()
        siblings = SubStatus.objects.for_company(actor.company_id).filter(status=data["status"])
        try:
            with transaction.atomic():
                actions.check_master_name_free(SubStatus, company_id=actor.company_id, name=name, status=data["status"])
                actions.do_upsert_sub_status(company=actor.company, status=data["status"], name=name,
                                             position=data["position"] or _next_position(siblings), acting_user=request.user)
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Created “%(name)s”.") % {"name": name})
            return redirect("masters:statuses")
    statuses = [
        {"value": value, "label": label, "sub_statuses": [s for s in sub_statuses if s.status == value]}
        for value, label in CaseStatus.choices
    ]
    return render(request, "crm/masters/statuses.html", {"actor": actor, "statuses": statuses, "form": form})


@company_admin_view
def sub_status_edit(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    instance = _lookup(SubStatus, actor, pk)
    version = _version_now(actor, instance)
    form_kwargs = {"editing": True, "initial": {"status": instance.status, "name": instance.name, "position": instance.position,
                                                "version": version.as_field()}}
    form = master_forms.SubStatusForm(request.POST or None, **form_kwargs)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                actions.do_update_master(instance=instance, name=form.cleaned_data["name"], position=form.cleaned_data["position"],
                                         acting_user=request.user, read_version=ReadVersion.from_field(form.cleaned_data["version"]))
        except Conflict as error:
            form, status = rebound_at_version(request.POST, master_forms.SubStatusForm, version, error.message, **form_kwargs), 409
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Saved “%(name)s”.") % {"name": instance.name})
            return redirect("masters:statuses")
    return render(request, "crm/masters/named_form.html", {
        "actor": actor, "kind": "sub-statuses", "title": _("Statuses and sub-statuses"), "instance": instance,
        "form": form, "list_url": "masters:statuses",
    }, status=status)


# ---------------------------------------------------------------------------------------------
# Custom fields


@company_admin_view
def field_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    queryset = CustomField.objects.for_company(actor.company_id).order_by("position", "pk")
    form = master_forms.CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        name = data["name"].strip()
        try:
            with transaction.atomic():
                actions.check_master_name_free(CustomField, company_id=actor.company_id, name=name)
                actions.do_upsert_custom_field(
                    company=actor.company, name=name, field_type=data["field_type"], choices=data["choices"],
                    is_required=data["is_required"], position=_next_position(queryset), acting_user=request.user,
                )
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Created “%(name)s”.") % {"name": name})
            return redirect("masters:fields")
    return render(request, "crm/masters/fields.html", {
        "actor": actor, "items": _with_use_counts(list(queryset)), "form": form,
    })


@company_admin_view
def field_edit(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    instance = _lookup(CustomField, actor, pk)
    version = _version_now(actor, instance)
    form_kwargs = {"editing": True, "initial": {
        "name": instance.name, "field_type": instance.field_type, "choices": "\n".join(instance.choices or []),
        "is_required": instance.is_required, "version": version.as_field(),
    }}
    form = master_forms.CustomFieldForm(request.POST or None, **form_kwargs)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                actions.do_upsert_custom_field(
                    company=actor.company, name=instance.name, field_type=data["field_type"], choices=data["choices"],
                    is_required=data["is_required"], position=instance.position, acting_user=request.user,
                    read_version=ReadVersion.from_field(data["version"]),
                )
        except Conflict as error:
            form, status = rebound_at_version(request.POST, master_forms.CustomFieldForm, version, error.message, **form_kwargs), 409
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Saved “%(name)s”.") % {"name": instance.name})
            return redirect("masters:fields")
    return render(request, "crm/masters/named_form.html", {
        "actor": actor, "kind": "fields", "title": _("Custom fields"), "instance": instance, "form": form,
        "list_url": "masters:fields",
    }, status=status)


# ---------------------------------------------------------------------------------------------
# Projects and their custom fields


def _project_field_names(actor: Actor) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for link in ProjectField.objects.for_company(actor.company_id).select_related("custom_field").order_by("position", "pk"):
        names.setdefault(link.project_id, []).append(link.custom_field.name)
    return names


def _ordered_fields(actor: Actor, chosen) -> list[CustomField]:
    """The chosen fields in the company's field order (the project keeps them in that order)."""
    chosen_ids = {field.pk for field in chosen}
    return [field for field in CustomField.objects.for_company(actor.company_id).order_by("position", "pk") if field.pk in chosen_ids]


@company_admin_view
def project_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    fields = CustomField.objects.for_company(actor.company_id).order_by("position", "pk")
    form = master_forms.ProjectForm(request.POST or None, fields=fields)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"].strip()
        try:
            with transaction.atomic():
                actions.check_master_name_free(Project, company_id=actor.company_id, name=name)
                actions.do_upsert_project(company=actor.company, name=name,
                                          custom_fields=_ordered_fields(actor, form.cleaned_data["custom_fields"]), acting_user=request.user,
                                          case_kind=form.cleaned_data["default_case_kind"] or None,
                                          customer_kind=form.cleaned_data["default_customer_kind"] or None)
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Created “%(name)s”.") % {"name": name})
            return redirect("masters:projects")
    projects = _with_use_counts(list(Project.objects.for_company(actor.company_id).order_by("name")))
    names = _project_field_names(actor)
    for project in projects:
        project.field_names = names.get(project.pk, [])
    return render(request, "crm/masters/projects.html", {"actor": actor, "items": projects, "form": form})


@company_admin_view
def project_edit(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    instance = _lookup(Project, actor, pk)
    version = _version_now(actor, instance)
    fields = CustomField.objects.for_company(actor.company_id).order_by("position", "pk")
    current = list(ProjectField.objects.for_company(actor.company_id).filter(project=instance).values_list("custom_field_id", flat=True))
    form_kwargs = {"fields": fields, "editing": True,
                   "initial": {"name": instance.name, "custom_fields": current, "version": version.as_field(),
                               "default_case_kind": instance.default_case_kind, "default_customer_kind": instance.default_customer_kind}}
    form = master_forms.ProjectForm(request.POST or None, **form_kwargs)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                actions.do_update_master(instance=instance, name=form.cleaned_data["name"], acting_user=request.user,
                                         read_version=ReadVersion.from_field(form.cleaned_data["version"]))
                actions.do_upsert_project(company=actor.company, name=instance.name,
                                          custom_fields=_ordered_fields(actor, form.cleaned_data["custom_fields"]), acting_user=request.user,
                                          case_kind=form.cleaned_data["default_case_kind"] or None,
                                          customer_kind=form.cleaned_data["default_customer_kind"] or None)
        except Conflict as error:
            form = rebound_at_version(request.POST, master_forms.ProjectForm, version, error.message, **form_kwargs)
            status = 409
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Saved “%(name)s”.") % {"name": instance.name})
            return redirect("masters:projects")
    return render(request, "crm/masters/named_form.html", {
        "actor": actor, "kind": "projects", "title": _("Projects"), "instance": instance, "form": form,
        "list_url": "masters:projects",
    }, status=status)
