"""`estatecrm vendor check-profile PROFILE_OR_NAME PACKAGE [--json]`: what a profile makes of a package,
before anything is loaded (nothing is written).

The report: files (member -> entity), unknown files, missing files and columns, unknown columns,
unknown values with their counts, problems by `<entity>:<field>:<code>`, record counts. `--json` prints
one object: `CheckReport.as_json()` plus `profile`, `vendor`, `region`, `currency` and `refused`
(null, or the code).

Exit 0 when the package can be loaded; 2 when the profile is unknown or invalid, the package cannot be
read (one line on stderr; `--json`: an object with `refused` and `message`) or files or columns the
profile needs are missing (the full report, `refused` = `package_incomplete`, and one line on stderr).
"""

import json

from django.core.management.base import CommandError

from estatecrm.core.errors import ApplicationError
from estatecrm.vendor.error_codes import PACKAGE_INCOMPLETE
from estatecrm.vendor.profiles import extract, load_profile

EXIT_REFUSED = 2


def add_arguments(parser) -> None:
    parser.add_argument("profile", metavar="PROFILE_OR_NAME", help="a built-in profile (template, hubspot, salesforce) or a YAML file")
    parser.add_argument("package", metavar="PACKAGE", help="a ZIP file or a folder")
    parser.add_argument("--region", help="the phone and address region when the package has no manifest saying it (JP, PL...)")
    parser.add_argument("--currency", help="the currency of the money fields when the package has no manifest saying it (JPY, PLN...)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def handle(command, options):
    try:
        profile = load_profile(options["profile"])
        extracted = extract(profile, options["package"], region=(options["region"] or "").upper() or None,
                            currency=(options["currency"] or "").upper() or None)
    except ApplicationError as error:
        if options["json"]:
            command.stdout.write(json.dumps({"refused": error.code, "message": one_line(error.message)}, ensure_ascii=False))
        raise CommandError(one_line(error.message), returncode=EXIT_REFUSED) from None
    check = extracted.check
    refused = None if check.is_loadable else PACKAGE_INCOMPLETE
    if options["json"]:
        command.stdout.write(json.dumps({**check.as_json(), "profile": profile.name, "vendor": extracted.vendor,
                                         "region": extracted.region, "currency": extracted.currency, "refused": refused},
                                        ensure_ascii=False))
    else:
        for line in report_lines(profile.name, extracted):
            command.stdout.write(line)
    if refused:
        missing = [*check.missing_files, *(f"{member}: {column}" for member, columns in check.missing_columns.items() for column in columns)]
        raise CommandError(f"{refused}: missing {', '.join(missing)}", returncode=EXIT_REFUSED)


def report_lines(profile_name: str, extracted) -> list[str]:
    """The human report (English, like the other commands' reports; the codes are the JSON's)."""
    check = extracted.check
    lines = [f"profile: {profile_name}", f"vendor: {extracted.vendor}", f"region: {extracted.region}",
             f"currency: {extracted.currency}", f"loadable: {'yes' if check.is_loadable else 'no'}", "files:"]
    lines += [f"  {member} -> {entity}" for member, entity in check.files.items()]
    lines.append("records:")
    lines += [f"  {entity}: {count}" for entity, count in check.counts.items()]
    if check.missing_files:
        lines.append("missing files:")
        lines += [f"  {member}" for member in check.missing_files]
    if check.missing_columns:
        lines.append("missing columns:")
        lines += [f"  {member}: {', '.join(columns)}" for member, columns in check.missing_columns.items()]
    if check.unknown_files:
        lines.append("unknown files (not read):")
        lines += [f"  {member}" for member in check.unknown_files]
    if check.unknown_columns:
        lines.append("unknown columns (kept as extra information):")
        lines += [f"  {member}: {', '.join(columns)}" for member, columns in check.unknown_columns.items()]
    if check.unknown_values:
        lines.append("unknown values (kept as extra information):")
        for member, columns in check.unknown_values.items():
            for column, counts in columns.items():
                words = ", ".join(f"{word} ({count})" for word, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
                lines.append(f"  {member}: {column}: {words}")
    if check.problems:
        lines.append("problems:")
        lines += [f"  {key}: {count}" for key, count in sorted(check.problems.items())]
    return lines
