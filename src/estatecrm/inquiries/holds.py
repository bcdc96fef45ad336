"""The inquiry sources and the LINE channel as default-assignee roles (tenancy.holds)."""

from django.urls import reverse
from django.utils.translation import gettext as _

from estatecrm.core.errors import NotFound
from estatecrm.tenancy.holds import DefaultAssigneeProvider, DefaultAssigneeRole

SOURCE_PREFIX = "inquiry_source:"
LINE_KEY = "line_channel"


def roles(company_id: int, user_ids: list[int]) -> dict[int, list[DefaultAssigneeRole]]:
    from estatecrm.inquiries.models import InquirySource, LineChannel

    result: dict[int, list[DefaultAssigneeRole]] = {}
    for source in (InquirySource.objects.for_company(company_id).filter(default_assignee_id__in=user_ids)
                   .select_related("org_unit").order_by("position", "pk")):
        result.setdefault(source.default_assignee_id, []).append(DefaultAssigneeRole(
            key=f"{SOURCE_PREFIX}{source.pk}", label=_("Inquiry source %(name)s") % {"name": source.name},
            settings_url=reverse("inquiry_settings:source_edit", args=[source.pk]), org_unit_id=source.org_unit_id,
            org_unit_name=source.org_unit.name,
        ))
    channel = LineChannel.objects.for_company(company_id).filter(default_assignee_id__in=user_ids).select_related("org_unit").first()
    if channel is not None:
        result.setdefault(channel.default_assignee_id, []).append(DefaultAssigneeRole(
            key=LINE_KEY, label=_("The LINE channel"), settings_url=reverse("inquiry_settings:line"),
            org_unit_id=channel.org_unit_id, org_unit_name=channel.org_unit.name,
        ))
    return result


def set_successor(company_id: int, key: str, successor, acting_user) -> None:
    from estatecrm.inquiries.actions import do_set_default_assignee
    from estatecrm.inquiries.models import InquirySource, LineChannel

    if key == LINE_KEY:
        target = LineChannel.objects.for_company(company_id).first()
    else:
        try:
            pk = int(key.removeprefix(SOURCE_PREFIX))
        except ValueError:
            raise NotFound() from None
        target = InquirySource.objects.for_company(company_id).filter(pk=pk).first()
    if target is None:
        raise NotFound()
    do_set_default_assignee(channel_or_source=target, user=successor, acting_user=acting_user)


def owns(key: str) -> bool:
    return key == LINE_KEY or key.startswith(SOURCE_PREFIX)


PROVIDER = DefaultAssigneeProvider(roles=roles, set_successor=set_successor, owns=owns)
