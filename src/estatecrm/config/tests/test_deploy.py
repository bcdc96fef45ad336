"""Production settings pass Django's deployment checks; nothing is loaded from the internet."""

import os
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    # The browser tests allow sync ORM calls next to Playwright's event loop; production never does.
    inherited = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {
        **inherited, "DJANGO_SETTINGS_MODULE": "estatecrm.config.settings.prod", "SECRET_KEY": "x" * 32 + "-production-key-" + "y" * 32,
        "ALLOWED_HOSTS": "crm.example.jp", "ESTATECRM_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run([sys.executable, "-m", "estatecrm", "check", "--deploy", "--fail-level", "WARNING"],
                            env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_no_template_or_static_file_loads_anything_from_the_internet():
    external = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)
    offenders = []
    for path in PACKAGE.rglob("*"):
        if path.suffix in {".html", ".css", ".js"} and "tests" not in path.parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            if external.search(text) or re.search(r"url\(\s*['\"]?https?://", text) or re.search(r"@import\s+['\"]?https?://", text):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_health_and_openapi(client, db):
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "estatecrm"
    assert "/api/v1/lead-imports" in schema["paths"]


def test_interactive_api_docs_use_local_assets(client, company_admin):
    client.force_login(company_admin)
    page = client.get("/api/v1/docs").content.decode()
    assert "cdn" not in page.lower()
    assert re.search(r"""(src|href)=["']https?://""", page) is None
