"""Test data of the migration pages that needs no request: an upload as the pages keep it in storage."""

import io
import json
import secrets
import zipfile

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from estatecrm.legacy.choices import PreflightStage, PreflightStatus
from estatecrm.legacy.selectors import PREFLIGHT_FILE, upload_folder

CASES = "追客番号,顧客番号,種別,追客ステータス,主担当\r\nT1,C1,賃貸,反響対応中,S001\r\n"
# エクスポート情報.csv as the desktop app writes it (a bundle without it is refused).
INFO = "項目,値\r\n出力日時,2026/11/01 10:00:00\r\n会社コード,K0001\r\nバージョン,5\r\n".encode("cp932")


def make_stored_upload(company, unit, *, status: str = PreflightStatus.CHECKING) -> str:
    """A small bundle stored for `unit` (no audit event, no task), its check in `status`. Returns its token."""
    token = secrets.token_hex(16)
    folder = upload_folder(company.pk, token)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("追客.csv", CASES.encode("cp932"))
        archive.writestr("エクスポート情報.csv", INFO)
    now = timezone.now().isoformat()
    default_storage.save(f"{folder}/bundle.zip", ContentFile(buffer.getvalue()))
    default_storage.save(f"{folder}/upload.json", ContentFile(json.dumps({
        "org_unit_id": unit.pk, "file_name": "bundle.zip", "size": len(buffer.getvalue()), "staff_map": {}, "staff_map_name": "",
        "uploaded_at": now, "uploaded_by_id": None}).encode("utf-8")))
    default_storage.save(f"{folder}/{PREFLIGHT_FILE}", ContentFile(json.dumps({
        "status": status, "stage": PreflightStage.QUEUED, "reason": "upload", "requested_at": now, "requested_by_id": None,
        "bundle_checked": False, "stage_started_at": now, "preflight": None, "quick_since": None, "error": None,
        "computed_at": None}).encode("utf-8")))
    return token
