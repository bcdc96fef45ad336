"""Settings pages for administrators: org units, users and memberships, workgroups.

Every page needs an admin (`Actor.is_admin`). A company admin manages everything; an org admin the
units of their subtree and the memberships in them. Objects of another company are 404.
"""


from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from estatecrm.audit.stale import history_filter, last_event_id
from estatecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from estatecrm.core.versions import ReadVersion, rebound_at_version
from estatecrm.tenancy import actions, forms, selectors
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.models import Membership, OrgUnit, User, Workgroup, WorkgroupMember
from estatecrm.tenancy.selectors import Actor

# ---------------------------------------------------------------------------------------------
# Helpers shared with the master pages (crm/master_views.py)


def add_error(form, error: ApplicationError) -> None:
    """Show an action's refusal on the form: next to its field when it names one, else above the form."""
    shown = False
    for name, field_messages in error.fields.items():
        for message in field_messages:
            form.add_error(name if name in form.fields else None, message)
            shown = True
    if not shown:
        form.add_error(None, error.message)


def refuse_message(request: HttpRequest, error: ApplicationError) -> None:
    messages.error(request, error.message)


def _refuse_with_links(request: HttpRequest, error: ApplicationError, user: User, *, staff_route: str) -> None:
    """A refusal of a user's deactivation or membership removal, with the links that resolve it: each
    default-assignee role's settings (where a successor is chosen), or the staff page (`staff_route`:
    退職 or 異動) that moves the cases first."""
    from django.utils.html import format_html, format_html_join

    from estatecrm.tenancy import error_codes
    from estatecrm.tenancy.holds import default_assignee_roles

    if error.code == error_codes.DEFAULT_ASSIGNEE:
        links = format_html_join(" ", '<a href="{}">{}</a>', ((role.settings_url, role.label) for role in default_assignee_roles(user)))
        messages.error(request, format_html("{} {}", error.message, links))
    elif error.code == error_codes.HAS_CASES:
        label = _("Retire") if staff_route == "staff:retire" else _("Transfer")
        messages.error(request, format_html('{} <a href="{}">{}</a>', error.message, reverse(staff_route, args=[user.pk]), label))
    else:
        refuse_message(request, error)


def _lookup(model, actor: Actor, pk: int):
    """A tenant object of the actor's company, else NotFound (never reveal another company's ids)."""
    instance = model.objects.for_company(actor.company_id).filter(pk=pk).first()
    if instance is None:
        raise NotFound()
    return instance


def _administered_units(actor: Actor):
    units = selectors.org_unit_list(actor=actor)
    return units if actor.is_company_admin else units.filter(pk__in=actor.admin_unit_ids)


# ---------------------------------------------------------------------------------------------
# Home


@permission_view("organisation")
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    # A legacy migration goes into one unit: the home links to it for every unit the admin administers.
    migration_units = [unit for unit in selectors.org_unit_list(actor=actor) if actor.can_admin_unit(unit.pk)]
    return render(request, "tenancy/home.html", {"actor": actor, "migration_units": migration_units})


# ---------------------------------------------------------------------------------------------
# Org units


@permission_view("organisation")
def unit_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    units = list(selectors.org_unit_list(actor=actor))
    for unit in units:
        unit.can_edit = actor.can_admin_unit(unit.pk)
    return render(request, "tenancy/units/list.html", {"actor": actor, "units": nest_units(units)})


def nest_units(units: list[OrgUnit]) -> list[OrgUnit]:
    """The roots of units given in tree order, each unit with `subunits` below it, so the page draws nested lists."""
    by_pk: dict[int, OrgUnit] = {}
    roots: list[OrgUnit] = []
    for unit in units:
        unit.subunits = []
        by_pk[unit.pk] = unit
        parent = by_pk.get(unit.parent_id)
        (parent.subunits if parent is not None else roots).append(unit)
    return roots


@permission_view("organisation")
def unit_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    parents = _administered_units(actor)
    form = forms.OrgUnitForm(request.POST or None, parents=parents, allow_top_level=actor.is_company_admin,
                             initial={"parent": request.GET.get("parent")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            unit = actions.do_create_org_unit(
                company=actor.company, code=data["code"], name=data["name"], parent=data["parent"],
                case_visibility=data["case_visibility"], acting_user=request.user,
            )
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Created “%(name)s”.") % {"name": unit.name})
            return redirect("settings:units")
    return render(request, "tenancy/units/form.html", {"actor": actor, "form": form, "unit": None})


@permission_view("organisation")
def unit_edit(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    unit = selectors.access_org_unit(actor, pk, for_write=True)
    version = ReadVersion.of(unit, seen_event_id=last_event_id(actor.company_id, history_filter(unit)))
    parents = _administered_units(actor).exclude(path__startswith=unit.path)
    if unit.parent_id is not None:
        # The current parent stays selectable even when outside the actor's subtree (an org admin
        # editing the top of their own subtree).
        parents = parents | selectors.org_unit_list(actor=actor).filter(pk=unit.parent_id)
    form_kwargs = {
        "parents": parents.order_by("path"), "editing": True, "allow_top_level": actor.is_company_admin,
        "initial": {"code": unit.code, "name": unit.name, "parent": unit.parent_id, "case_visibility": unit.case_visibility,
                    "version": version.as_field()},
    }
    form = forms.OrgUnitForm(request.POST or None, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        parent = data["parent"]
        try:
            if (parent.pk if parent else None) != unit.parent_id and not (
                actor.is_company_admin if parent is None else actor.can_admin_unit(parent.pk)
            ):
                raise PermissionDenied()
            with transaction.atomic():
                actions.do_upsert_org_unit(
                    company=actor.company, code=unit.code, name=data["name"], parent=parent,
                    case_visibility=data["case_visibility"], acting_user=request.user,
                    read_version=ReadVersion.from_field(data["version"]),
                )
        except PermissionDenied:
            raise
        except Conflict as error:
            form = rebound_at_version(request.POST, forms.OrgUnitForm, version, error.message, **form_kwargs)
            return render(request, "tenancy/units/form.html", {"actor": actor, "form": form, "unit": unit}, status=409)
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Saved “%(name)s”.") % {"name": data["name"]})
            return redirect("settings:units")
    return render(request, "tenancy/units/form.html", {"actor": actor, "form": form, "unit": unit})


# ---------------------------------------------------------------------------------------------
# Users and memberships


def _can_manage_user(actor: Actor, user: User, memberships) -> bool:
    """Company admins manage every user; org admins users whose every membership is in their subtree."""
    if actor.is_company_admin:
        return True
    return bool(memberships) and all(actor.can_admin_unit(m.org_unit_id) for m in memberships)


def _access_user(actor: Actor, pk: int) -> tuple[User, list[Membership]]:
    user = selectors.access_user(actor, pk)
    memberships = list(
        Membership.objects.for_company(actor.company_id).filter(user=user).select_related("org_unit").order_by("-is_primary", "org_unit__path")
    )
    if not actor.is_company_admin and not any(actor.can_admin_unit(m.org_unit_id) for m in memberships):
        raise PermissionDenied()
    return user, memberships


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@permission_view("organisation")
def user_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    users = selectors.user_list(actor=actor)
    if not actor.is_company_admin:
        users = users.filter(pk__in=Membership.objects.for_company(actor.company_id)
                             .filter(org_unit_id__in=actor.admin_unit_ids).values("user_id"))
    query = request.GET.get("q", "").strip()
    if query:
        users = users.filter(email__icontains=query) | users.filter(name__icontains=query)
    users = list(users.order_by("email")[:500])
    units_by_user: dict[int, list[Membership]] = {}
    for membership in (Membership.objects.for_company(actor.company_id).filter(user_id__in=[u.pk for u in users])
                       .select_related("org_unit").order_by("-is_primary", "org_unit__path")):
        units_by_user.setdefault(membership.user_id, []).append(membership)
    case_counts = _live_main_case_counts(actor, [u.pk for u in users])
    for user in users:
        user.unit_memberships = units_by_user.get(user.pk, [])
        user.live_case_count = case_counts.get(user.pk, 0)
    return render(request, "tenancy/users/list.html", {"actor": actor, "users": users, "query": query})


@permission_view("organisation")
def user_invite(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = forms.InviteForm(request.POST or None, units=_administered_units(actor))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = actions.do_invite_user(
                company=actor.company, email=data["email"], name=data["name"], org_unit=data["org_unit"],
                role=data["role"], base_url=_base_url(request), acting_user=request.user,
            )
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Sent an invitation to %(email)s.") % {"email": user.email})
            return redirect("settings:user", pk=user.pk)
    return render(request, "tenancy/users/invite.html", {"actor": actor, "form": form})


def _live_main_case_counts(actor: Actor, user_ids) -> dict[int, int]:
    """How many cases not in the trash each user is main assignee of: one grouped query."""
    from django.db.models import Count

    # crm is imported on use, as tenancy.selectors does (tenancy's module level knows nothing of cases).
    from estatecrm.crm.models import Case

    rows = (Case.objects.for_company(actor.company_id).filter(main_assignee_id__in=list(user_ids), deleted_at__isnull=True)
            .order_by().values("main_assignee_id").annotate(count=Count("pk")).values_list("main_assignee_id", "count"))
    return dict(rows)


def breakable_address(address: str):
    """The address with a line-break opportunity before its @: a long one wraps inside a narrow card."""
    from django.utils.html import format_html

    local, at, domain = address.rpartition("@")
    return format_html("{}<wbr>@{}", local, domain) if at else address


def _render_user_detail(request: HttpRequest, actor: Actor, user: User, memberships, *, name_form=None, mail_from_form=None,
                        status: int = 200) -> HttpResponse:
    can_manage = _can_manage_user(actor, user, memberships)
    for membership in memberships:
        membership.can_edit = actor.can_admin_unit(membership.org_unit_id)
        membership.role_form = forms.MembershipRoleForm(initial={"role": membership.role}, prefix=f"m{membership.pk}")
    add_form = forms.MembershipAddForm(units=_administered_units(actor).exclude(pk__in=[m.org_unit_id for m in memberships]))
    return render(request, "tenancy/users/detail.html", {
        "actor": actor, "subject": user, "memberships": memberships, "can_manage": can_manage,
        "name_form": name_form or forms.UserNameForm(initial={"name": user.name}), "add_form": add_form,
        "is_invited": not user.has_usable_password(),
        "mail_from_form": mail_from_form or forms.CustomerMailFromForm(initial={"address": user.customer_mail_from}),
        "live_case_count": _live_main_case_counts(actor, [user.pk]).get(user.pk, 0),
        "mail_from_breakable": breakable_address(user.customer_mail_from),
    }, status=status)


@permission_view("organisation")
def user_detail(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    user, memberships = _access_user(actor, pk)
    name_form = forms.UserNameForm(request.POST or None, initial={"name": user.name})
    if request.method == "POST":
        if not _can_manage_user(actor, user, memberships):
            raise PermissionDenied()
        if name_form.is_valid():
            actions.do_upsert_user(company=actor.company, email=user.email, name=name_form.cleaned_data["name"], acting_user=request.user)
            messages.success(request, _("Saved."))
            return redirect("settings:user", pk=user.pk)
    return _render_user_detail(request, actor, user, memberships, name_form=name_form)


@require_POST
@permission_view("organisation")
def user_mail_from(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    """Set the user's sending address for customer e-mail; changing a set one needs the confirmation box."""
    user, memberships = _access_user(actor, pk)
    if not _can_manage_user(actor, user, memberships):
        raise PermissionDenied()
    form = forms.CustomerMailFromForm(request.POST)
    if form.is_valid():
        try:
            changed = actions.do_set_customer_mail_from(user=user, address=form.cleaned_data["address"],
                                                        confirmed=form.cleaned_data["confirmed"], acting_user=request.user)
        except PermissionDenied:
            raise
        except ApplicationError as error:
            add_error(form, error)
            form.needs_confirmation = error.code == "confirmation_required"
        else:
            if changed:
                messages.success(request, _("Saved the sending address for customer e-mail."))
            return redirect(reverse("settings:user", args=[user.pk]) + "#mail-from")
    return _render_user_detail(request, actor, user, memberships, mail_from_form=form, status=400)


@require_POST
@permission_view("organisation")
def user_set_active(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    user, memberships = _access_user(actor, pk)
    if not _can_manage_user(actor, user, memberships):
        raise PermissionDenied()
    is_active = request.POST.get("is_active") == "1"
    try:
        actions.do_set_user_active(user=user, is_active=is_active, acting_user=request.user)
    except PermissionDenied:
        raise
    except ApplicationError as error:
        _refuse_with_links(request, error, user, staff_route="staff:retire")
    else:
        messages.success(request, _("Reactivated %(user)s.") % {"user": user.email} if is_active
                         else _("Deactivated %(user)s.") % {"user": user.email})
    return redirect("settings:user", pk=user.pk)


@require_POST
@permission_view("organisation")
def user_resend_invitation(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    user, memberships = _access_user(actor, pk)
    if not _can_manage_user(actor, user, memberships):
        raise PermissionDenied()
    if user.has_usable_password() or not user.is_active:
        messages.error(request, _("Only an active user who has not set a password yet can be invited again."))
    else:
        actions.do_resend_invitation(user=user, base_url=_base_url(request), acting_user=request.user)
        messages.success(request, _("Sent an invitation to %(email)s.") % {"email": user.email})
    return redirect("settings:user", pk=user.pk)


@require_POST
@permission_view("organisation")
def membership_add(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    user, memberships = _access_user(actor, pk)
    form = forms.MembershipAddForm(request.POST, units=_administered_units(actor).exclude(pk__in=[m.org_unit_id for m in memberships]))
    if form.is_valid():
        actions.do_add_membership(user=user, org_unit=form.cleaned_data["org_unit"], role=form.cleaned_data["role"], acting_user=request.user)
        messages.success(request, _("Added the membership."))
    else:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, message)
    return redirect("settings:user", pk=user.pk)


@require_POST
@permission_view("organisation")
def membership_change(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    """One membership: `operation` role (with `m<pk>-role`), primary or remove."""
    membership = _lookup(Membership, actor, pk)
    if not actor.can_admin_unit(membership.org_unit_id):
        raise PermissionDenied()
    operation = request.POST.get("operation")
    try:
        if operation == "role":
            form = forms.MembershipRoleForm(request.POST, prefix=f"m{membership.pk}")
            if not form.is_valid():
                raise Http404()
            actions.do_change_membership_role(membership=membership, role=form.cleaned_data["role"], acting_user=request.user)
        elif operation == "primary":
            actions.do_set_primary_membership(user=membership.user, org_unit=membership.org_unit, role=membership.role, acting_user=request.user)
        elif operation == "remove":
            actions.do_remove_membership(membership=membership, acting_user=request.user)
        else:
            raise Http404()
    except PermissionDenied:
        raise
    except ApplicationError as error:
        _refuse_with_links(request, error, membership.user, staff_route="staff:transfer")
    else:
        messages.success(request, _("Saved."))
    return redirect("settings:user", pk=membership.user_id)


# ---------------------------------------------------------------------------------------------
# Workgroups (company-wide: company admins)


def _workgroup_users(actor: Actor):
    return selectors.user_list(actor=actor).filter(is_active=True)


@permission_view("workgroups")
def workgroup_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    workgroups = list(selectors.workgroup_list(actor=actor))
    counts: dict[int, int] = {}
    for workgroup_id in WorkgroupMember.objects.for_company(actor.company_id).values_list("workgroup_id", flat=True):
        counts[workgroup_id] = counts.get(workgroup_id, 0) + 1
    for workgroup in workgroups:
        workgroup.member_count = counts.get(workgroup.pk, 0)
    return render(request, "tenancy/workgroups/list.html", {"actor": actor, "workgroups": workgroups})


@permission_view("workgroups")
def workgroup_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = forms.WorkgroupForm(request.POST or None, users=_workgroup_users(actor))
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"].strip()
        if selectors.workgroup_list(actor=actor).filter(name=name).exists():
            form.add_error("name", _("A workgroup with this name already exists."))
        else:
            actions.do_upsert_workgroup(company=actor.company, name=name, members=list(form.cleaned_data["members"]), acting_user=request.user)
            messages.success(request, _("Created “%(name)s”.") % {"name": name})
            return redirect("settings:workgroups")
    return render(request, "tenancy/workgroups/form.html", {"actor": actor, "form": form, "workgroup": None})


@permission_view("workgroups")
def workgroup_edit(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    workgroup = _lookup(Workgroup, actor, pk)
    version = ReadVersion.of(workgroup, seen_event_id=last_event_id(actor.company_id, history_filter(workgroup)))
    member_ids = list(WorkgroupMember.objects.for_company(actor.company_id).filter(workgroup=workgroup).values_list("user_id", flat=True))
    form_kwargs = {"users": _workgroup_users(actor) | selectors.user_list(actor=actor).filter(pk__in=member_ids), "editing": True,
                   "initial": {"name": workgroup.name, "members": member_ids, "version": version.as_field()}}
    form = forms.WorkgroupForm(request.POST or None, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                actions.do_rename_workgroup(workgroup=workgroup, name=form.cleaned_data["name"], acting_user=request.user,
                                            read_version=ReadVersion.from_field(form.cleaned_data["version"]))
                actions.do_upsert_workgroup(company=actor.company, name=workgroup.name, members=list(form.cleaned_data["members"]),
                                            acting_user=request.user)
        except Conflict as error:
            form = rebound_at_version(request.POST, forms.WorkgroupForm, version, error.message, **form_kwargs)
            return render(request, "tenancy/workgroups/form.html", {"actor": actor, "form": form, "workgroup": workgroup}, status=409)
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Saved “%(name)s”.") % {"name": workgroup.name})
            return redirect("settings:workgroups")
    return render(request, "tenancy/workgroups/form.html", {"actor": actor, "form": form, "workgroup": workgroup})

