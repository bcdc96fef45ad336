"""Japanese first, English complete: every UI string in the code has a Japanese translation."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]


def unescape(value: str) -> str:
    """A .po string literal's text (escapes such as a backslash-n resolved), as gettext sees it."""
    return re.sub(r"\\(.)", lambda match: {"n": "\n", "t": "\t"}.get(match.group(1), match.group(1)), value)


def po_entries(text: str):
    """(msgctxt, msgid, msgstr, is_fuzzy) for each entry of a .po file (plural forms: the first msgstr;
    msgctxt "" when the entry has no context)."""
    for block in text.split("\n\n"):
        if "msgid" not in block or block.lstrip().startswith("#~"):
            continue
        fuzzy = bool(re.search(r"^#,.*\bfuzzy\b", block, re.MULTILINE))
        msgid = "".join(re.findall(r'"(.*)"', re.search(r'^msgid ((?:".*"\n?)+)', block, re.MULTILINE).group(1)))
        match = re.search(r'^msgstr(?:\[0\])? ((?:".*"\n?)+)', block, re.MULTILINE)
        msgstr = "".join(re.findall(r'"(.*)"', match.group(1))) if match else ""
        context = re.search(r'^msgctxt "(.*)"', block, re.MULTILINE)
        if msgid:
            yield unescape(context.group(1)) if context else "", unescape(msgid), unescape(msgstr), fuzzy


def test_every_message_has_a_japanese_translation(tmp_path):
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("GNU gettext (xgettext) is missing: .ci/run installs it")
        pytest.skip("GNU gettext is not installed")
    # given: a copy of the package with its committed catalogue
    copy = tmp_path / "estatecrm"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    # when: the strings of the code are extracted into it again
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "ja", "--ignore=tests/*", "--ignore=*/tests/*"],
        cwd=copy, check=True, capture_output=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": "estatecrm.config.settings.test"},
    )
    # then: none lacks a translation, none is fuzzy
    entries = list(po_entries((copy / "locale/ja/LC_MESSAGES/django.po").read_text(encoding="utf-8")))
    assert len(entries) > 300
    assert [msgid for _context, msgid, msgstr, fuzzy in entries if not msgstr or fuzzy] == []


def test_compiled_catalogue_matches_the_po_file():
    import gettext

    po = (PACKAGE / "locale/ja/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    with (PACKAGE / "locale/ja/LC_MESSAGES/django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [msgid for context, msgid, msgstr, fuzzy in po_entries(po)
             if not fuzzy and "%(count)d error" not in msgid
             and (compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)) != msgstr]
    assert stale == [], "run `make messages` (compilemessages) after editing the .po"


def test_japanese_is_the_default_and_english_is_available(client):
    assert "ログイン" in client.get("/login/").content.decode()
    assert "Log in" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
