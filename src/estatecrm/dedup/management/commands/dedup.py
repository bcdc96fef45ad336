"""`estatecrm dedup scan|merge|undo`: 名寄せ from the command line, through the same code as the pages.

- `dedup scan --company CODE [--rules exact|all] [--json] [--pairs FILE.csv]` recomputes the company's
  candidates as set work in the database (dedup.scan) and prints `groups`, `cases_in_groups` and `pairs`;
  `--pairs` writes every candidate pair (header `case_id_a,case_id_b,rule,score`, `case_id_a < case_id_b`,
  one line per pair with its best rule). `--rules exact`: the phone and e-mail rules only; `all` (the
  default): every rule the company has on.
- `dedup merge --company CODE --as EMAIL --survivor CASE_ID --cases ID,ID [--integrate] [--fill-empty] [--json]`
  merges (with `--integrate`) or links the cases into the survivor as that user (the user's rights apply),
  and prints `merge_id`, `survivor` and `merged`.
- `dedup undo MERGE_ID [--json]` undoes a merge (the operator; `--as EMAIL` to act as a user).

Case ids are the database ids that `export cases` and the API show. Bad input exits with an error
message and writes nothing.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from estatecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.tenancy.commands import acting_actor, company_by_code


def case_ids(text: str) -> list[int]:
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--cases takes case ids separated by commas, not {text!r}") from None
    if not ids:
        raise CommandError("--cases names no case")
    return ids


class Command(BaseCommand):
    help = "名寄せ: scan for duplicate candidates, merge or link cases, undo a merge."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        scan = commands.add_parser("scan", help="recompute the company's duplicate candidates")
        scan.add_argument("--company", required=True)
        scan.add_argument("--rules", choices=("exact", "all"), default="all")
        scan.add_argument("--json", action="store_true", help="print one JSON object")
        scan.add_argument("--pairs", metavar="FILE.csv", help="write every candidate pair to this CSV file")
        merge = commands.add_parser("merge", help="merge (--integrate) or link cases into a survivor")
        merge.add_argument("--company", required=True)
        merge.add_argument("--as", dest="as_email", required=True)
        merge.add_argument("--survivor", type=int, required=True)
        merge.add_argument("--cases", type=case_ids, required=True, help="the other cases' ids, comma-separated")
        merge.add_argument("--integrate", action="store_true", help="move the history into the survivor (活動履歴を統合する)")
        merge.add_argument("--fill-empty", action="store_true", help="fill the survivor's empty fields from the other cases")
        merge.add_argument("--json", action="store_true")
        undo = commands.add_parser("undo", help="undo a merge")
        undo.add_argument("merge_id", type=int, metavar="MERGE_ID")
        undo.add_argument("--as", dest="as_email")
        undo.add_argument("--json", action="store_true")

    def handle(self, *args, action, **options):
        try:
            result = getattr(self, f"handle_{action}")(options)
        except (ApplicationError, PermissionDenied, NotFound) as error:
            raise CommandError(str(getattr(error, "message", "") or error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")

    def handle_scan(self, options) -> dict:
        from estatecrm.dedup.scan import scan_company

        company = company_by_code(options["company"])
        with company_scope(company):
            result = scan_company(company, rules=options["rules"], pairs_path=options["pairs"])
        return {"groups": result.groups, "cases_in_groups": result.cases_in_groups, "pairs": result.pairs}

    def handle_merge(self, options) -> dict:
        from estatecrm.dedup.merge import MergeRequest, do_merge_cases

        company = company_by_code(options["company"])
        with company_scope(company):
            actor = acting_actor(company, options["as_email"])
            request = MergeRequest(survivor_id=options["survivor"], case_ids=options["cases"], integrate=options["integrate"],
                                   fill_empty=options["fill_empty"])
            merge = do_merge_cases(acting_user=actor.user, request=request)
            merged = list(merge.merge_cases.order_by("case_id").values_list("case_id", flat=True))
        return {"merge_id": merge.pk, "survivor": merge.survivor_id, "merged": merged, "mode": merge.mode}

    def handle_undo(self, options) -> dict:
        from estatecrm.dedup.merge import do_undo_merge
        from estatecrm.dedup.models import Merge

        # The merge id alone names the company: an operator's command (no user) reaches any company's merge.
        merge = Merge.objects.unscoped().filter(pk=options["merge_id"]).select_related("company").first()
        if merge is None:
            raise CommandError(f"No merge {options['merge_id']}")
        with company_scope(merge.company):
            acting_user = acting_actor(merge.company, options["as_email"]).user if options["as_email"] else None
            merge = do_undo_merge(acting_user=acting_user, merge_id=merge.pk)
        return {"merge_id": merge.pk, "survivor": merge.survivor_id, "undone_at": merge.undone_at.isoformat()}
