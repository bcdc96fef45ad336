"""`estatecrm staff transfer|retire|reassign|plan|undo|history`: 異動・退職 from the command line, through the
same actions as the pages and the API (staff.actions), as the `--as` user (their rights apply).

    estatecrm staff transfer EMAIL --company CODE --to UNIT --as ADMIN_EMAIL (--with-cases | --reassign-to EMAIL) [--json]
    estatecrm staff retire EMAIL --company CODE --as ADMIN_EMAIL (--reassign-to EMAIL | --trash-cases) [--json]
    estatecrm staff reassign --company CODE --as ADMIN_EMAIL --from EMAIL --to EMAIL [--cases ID,ID] [--json]
    estatecrm staff plan EMAIL --company CODE [--to UNIT] [--json]
    estatecrm staff undo REASSIGNMENT_ID --company CODE --as ADMIN_EMAIL [--json]
    estatecrm staff history --company CODE [--as ADMIN_EMAIL] [--user EMAIL] [--kind transfer|retire|reassign] [--json]

UNIT is the unit's code (or its exact name when no other unit has it). `--cases` takes the case database ids
that `estatecrm export cases` and the API show. `--handover-note TEXT` (引継ぎメモ) goes on every case's
timeline; a transfer's `--remove-sub-assignments` drops the agent's sub-assignee roles on the cases left behind.

A refusal (a rule blocks it: `default_assignee`, `missing_reassignment`, `not_unit_admin`...; an unknown user,
unit, case or reassignment: `not_found`) writes nothing, prints one line with the reason to stderr and exits
with code 2. `--json` prints one JSON object, on success and on refusal alike: `cases_moved`,
`cases_reassigned`, `cases_trashed`, `visits_moved`, `sub_assignments_removed`, `refused` (null, or the code)
and `reassignment_id`.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.tenancy.commands import acting_actor, company_by_code

EXIT_REFUSED = 2
REFUSED_KEYS = ("cases_moved", "cases_reassigned", "cases_trashed", "visits_moved", "sub_assignments_removed")


class Refused(Exception):
    """A refusal found by the command itself (an unknown user, unit or case): reported as an action's refusal."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def case_ids(text: str) -> list[int]:
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--cases takes case ids separated by commas, not {text!r}", returncode=EXIT_REFUSED) from None
    if not ids or any(pk < 1 for pk in ids):
        raise CommandError("--cases names no case", returncode=EXIT_REFUSED)
    return ids


def one_line(text: str) -> str:
    return " ".join(str(text).split())


class Command(BaseCommand):
    # Django's system checks cost about 3 s of CPU per run here (bench/staff_reassign.py), more than half of a
    # 10,000-case reassignment; this command changes data only (`estatecrm check` and the deploy run them).
    requires_system_checks = []
    help = "異動・退職: transfer or retire an agent, reassign cases in bulk, preview a move, undo a reassignment, list the history."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)

        transfer = commands.add_parser("transfer", help="move an agent to another unit (異動)")
        transfer.add_argument("email", metavar="EMAIL")
        transfer.add_argument("--company", required=True)
        transfer.add_argument("--to", dest="to_unit", required=True, metavar="UNIT", help="the unit's code (or exact name)")
        transfer.add_argument("--as", dest="as_email", required=True, metavar="ADMIN_EMAIL")
        choice = transfer.add_mutually_exclusive_group()
        choice.add_argument("--with-cases", action="store_true", help="the cases left behind move with the agent (エージェントと担当顧客どちらも)")
        choice.add_argument("--reassign-to", metavar="EMAIL", help="the new main assignee of the cases left behind (エージェントのみ)")
        transfer.add_argument("--remove-sub-assignments", action="store_true", help="drop their sub-assignee roles on the cases left behind")
        transfer.add_argument("--handover-note", default="", metavar="TEXT", help="引継ぎメモ on every case's timeline")
        transfer.add_argument("--json", action="store_true", help="print one JSON object")

        retire = commands.add_parser("retire", help="retire an agent (退職): the account is deactivated, never deleted")
        retire.add_argument("email", metavar="EMAIL")
        retire.add_argument("--company", required=True)
        retire.add_argument("--as", dest="as_email", required=True, metavar="ADMIN_EMAIL")
        choice = retire.add_mutually_exclusive_group()
        choice.add_argument("--reassign-to", metavar="EMAIL", help="the new main assignee of all their cases")
        choice.add_argument("--trash-cases", action="store_true", help="move their cases to the trash (restorable for 30 days)")
        retire.add_argument("--handover-note", default="", metavar="TEXT")
        retire.add_argument("--json", action="store_true")

        reassign = commands.add_parser("reassign", help="give an agent's cases to another agent (担当者変更)")
        reassign.add_argument("--company", required=True)
        reassign.add_argument("--as", dest="as_email", required=True, metavar="ADMIN_EMAIL")
        reassign.add_argument("--from", dest="from_email", required=True, metavar="EMAIL")
        reassign.add_argument("--to", dest="to_email", required=True, metavar="EMAIL")
        reassign.add_argument("--cases", type=case_ids, help="only these case ids, comma-separated (default: all of them)")
        reassign.add_argument("--handover-note", default="", metavar="TEXT")
        reassign.add_argument("--json", action="store_true")

        plan = commands.add_parser("plan", help="what a transfer (--to) or a retirement would do, changing nothing")
        plan.add_argument("email", metavar="EMAIL")
        plan.add_argument("--company", required=True)
        plan.add_argument("--to", dest="to_unit", metavar="UNIT")
        plan.add_argument("--json", action="store_true")

        undo = commands.add_parser("undo", help="undo a reassignment (within 30 days, while its cases were not reassigned again)")
        undo.add_argument("reassignment_id", type=int, metavar="REASSIGNMENT_ID")
        undo.add_argument("--company", required=True)
        undo.add_argument("--as", dest="as_email", required=True, metavar="ADMIN_EMAIL")
        undo.add_argument("--json", action="store_true")

        history = commands.add_parser("history", help="the 担当変更履歴, newest first")
        history.add_argument("--company", required=True)
        history.add_argument("--as", dest="as_email", metavar="ADMIN_EMAIL", help="default: the company's first company administrator")
        history.add_argument("--user", dest="user_email", metavar="EMAIL", help="only the changes that concern this user")
        history.add_argument("--kind", choices=("transfer", "retire", "reassign"))
        history.add_argument("--limit", type=int, default=50)
        history.add_argument("--json", action="store_true")

    def handle(self, *args, action, **options):
        try:
            company = company_by_code(options["company"])
        except CommandError as error:
            self.refuse("not_found", str(error), options)
        with company_scope(company):
            try:
                result = getattr(self, f"handle_{action}")(company, options)
            except (ApplicationError, Refused) as error:
                self.refuse(error.code, error.message, options)
            except CommandError as error:  # acting_actor: no such --as user, or one who cannot act
                self.refuse("not_found", str(error), options)
        self.emit(result, options)

    def refuse(self, code: str, message: str, options) -> None:
        if options["json"]:
            self.stdout.write(json.dumps({**dict.fromkeys(REFUSED_KEYS, 0), "refused": code, "reassignment_id": None,
                                          "message": one_line(message)}, ensure_ascii=False))
        raise CommandError(one_line(message), returncode=EXIT_REFUSED)

    def emit(self, result: dict, options) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, default=str))
            return
        for key, value in result.items():
            if isinstance(value, list):
                self.stdout.write(f"{key}:")
                for item in value:
                    self.stdout.write(f"  {item}")
            else:
                self.stdout.write(f"{key}: {value}")

    # -----------------------------------------------------------------------------------------
    # Look-ups (an unknown one is a refusal: exit 2, nothing written)

    def user(self, company, email: str, option: str):
        from estatecrm.tenancy.models import User

        user = User.objects.filter(company=company, email=(email or "").strip().lower()).first()
        if user is None:
            raise Refused("not_found", f"{option}: no user {email} in company {company.code}")
        return user

    def unit(self, company, text: str):
        from estatecrm.tenancy.models import OrgUnit

        units = OrgUnit.objects.for_company(company)
        found = units.filter(code=text).first()
        if found is None:
            named = list(units.filter(name=text)[:2])
            found = named[0] if len(named) == 1 else None
            if len(named) > 1:
                raise Refused("not_found", f"--to: several units are named {text}; give the unit's code")
        if found is None:
            raise Refused("not_found", f"--to: no unit {text} in company {company.code}")
        return found

    def actor(self, company, email: str | None):
        return acting_actor(company, email)

    # -----------------------------------------------------------------------------------------
    # Subcommands

    def handle_transfer(self, company, options) -> dict:
        from estatecrm.staff.actions import do_transfer_agent

        actor = self.actor(company, options["as_email"])
        agent = self.user(company, options["email"], "EMAIL")
        to_unit = self.unit(company, options["to_unit"])
        reassign_to = self.user(company, options["reassign_to"], "--reassign-to") if options["reassign_to"] else None
        result = do_transfer_agent(actor=actor, agent=agent, to_unit=to_unit, with_cases=options["with_cases"], reassign_to=reassign_to,
                                   remove_sub_assignments=options["remove_sub_assignments"], handover_note=options["handover_note"])
        return result.as_json()

    def handle_retire(self, company, options) -> dict:
        from estatecrm.staff.actions import do_retire_agent

        actor = self.actor(company, options["as_email"])
        agent = self.user(company, options["email"], "EMAIL")
        reassign_to = self.user(company, options["reassign_to"], "--reassign-to") if options["reassign_to"] else None
        result = do_retire_agent(actor=actor, agent=agent, reassign_to=reassign_to, trash_cases=options["trash_cases"],
                                 handover_note=options["handover_note"])
        return result.as_json()

    def handle_reassign(self, company, options) -> dict:
        from estatecrm.staff.actions import do_reassign_cases

        actor = self.actor(company, options["as_email"])
        from_user = self.user(company, options["from_email"], "--from")
        to_user = self.user(company, options["to_email"], "--to")
        result = do_reassign_cases(actor=actor, from_user=from_user, to_user=to_user, case_ids=options["cases"],
                                   handover_note=options["handover_note"])
        return result.as_json()

    def handle_plan(self, company, options) -> dict:
        from estatecrm.staff.selectors import plan_for

        agent = self.user(company, options["email"], "EMAIL")
        to_unit = self.unit(company, options["to_unit"]) if options["to_unit"] else None
        plan = plan_for(agent, to_unit=to_unit)
        return {
            "agent": agent.email, "from_unit": plan.from_unit.code if plan.from_unit else None,
            "to_unit": to_unit.code if to_unit else None, "cases": plan.case_count, "unsubscribed_cases": plan.unsubscribed_count,
            "open_visits": plan.visit_count, "sub_assignee_cases": plan.sub_case_count,
            "case_units": [unit.code for unit in plan.case_units], "blocked": plan.is_blocked,
            "default_assignee_roles": [{"key": role.key, "label": role.label, "settings_url": role.settings_url} for role in plan.roles],
        }

    def handle_undo(self, company, options) -> dict:
        from estatecrm.staff.actions import do_undo_reassignment
        from estatecrm.staff.selectors import access_reassignment

        actor = self.actor(company, options["as_email"])
        record = access_reassignment(actor, options["reassignment_id"])
        return do_undo_reassignment(actor=actor, reassignment=record).as_json()

    def handle_history(self, company, options) -> dict:
        from estatecrm.staff.selectors import reassignment_list

        actor = self.actor(company, options["as_email"])
        user_id = self.user(company, options["user_email"], "--user").pk if options["user_email"] else None
        records = reassignment_list(actor=actor, user_id=user_id, kind=options["kind"])[:max(1, options["limit"])]
        return {"reassignments": [{
            "id": record.pk, "kind": record.kind, "created_at": record.created_at.isoformat(),
            "actor": record.actor.email if record.actor else None, "agent": record.agent.email if record.agent else None,
            "to_user": record.to_user.email if record.to_user else None,
            "from_unit": record.from_unit.code if record.from_unit else None, "to_unit": record.to_unit.code if record.to_unit else None,
            "cases_moved": record.cases_moved, "cases_reassigned": record.cases_reassigned, "cases_trashed": record.cases_trashed,
            "visits_moved": record.visits_moved, "sub_assignments_removed": record.sub_assignments_removed,
            "undone_at": record.undone_at.isoformat() if record.undone_at else None,
        } for record in records]}
