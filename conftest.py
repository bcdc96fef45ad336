"""Fixtures for the whole suite: a company with a small org tree, and a second company to prove isolation."""

import pytest


def _testing():
    # Imported on use: pure unit tests (normalize/) run without Django configured.
    from estatecrm.core import testing

    return testing


@pytest.fixture(autouse=True)
def forget_cached_counts():
    """The side menu's counts are cached per (company, user) id, and ids come back in later tests (a
    rolled-back SQLite table reuses them): the cache goes with each test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def company(db):
    return _testing().make_company("acme", "アクメ不動産株式会社")


@pytest.fixture
def org(company):
    """本社 HQ -> 東京エリア TKY -> 渋谷店 SBY (org visibility) and 新宿店 SJK (assignees visibility)."""
    from estatecrm.tenancy.choices import CaseVisibility

    testing = _testing()
    hq = testing.make_unit(company, "HQ", name="本社")
    tky = testing.make_unit(company, "TKY", parent=hq, name="東京エリア")
    sby = testing.make_unit(company, "SBY", parent=tky, name="渋谷店")
    sjk = testing.make_unit(company, "SJK", parent=tky, name="新宿店", visibility=CaseVisibility.ASSIGNEES)
    return {"HQ": hq, "TKY": tky, "SBY": sby, "SJK": sjk}


@pytest.fixture
def company_admin(company, org):
    from estatecrm.tenancy.choices import Role

    return _testing().make_user(company, org["HQ"], role=Role.ADMIN, email="admin@acme.example.jp", name="管理 太郎")


@pytest.fixture
def agent(company, org):
    return _testing().make_user(company, org["SBY"], email="agent@acme.example.jp", name="渋谷 一郎")


@pytest.fixture
def other_company(db):
    """Company B with one unit, an admin and a case: nothing of it may be visible from company A."""
    from estatecrm.tenancy.choices import Role

    testing = _testing()
    company = testing.make_company("other", "他社不動産株式会社")
    unit = testing.make_unit(company, "HQ", name="本社")
    admin = testing.make_user(company, unit, role=Role.ADMIN, email="admin@other.example.jp")
    case = testing.make_case(company, unit, main_assignee=admin, customer_name="他社 顧客")
    return {"company": company, "unit": unit, "admin": admin, "case": case}


@pytest.fixture(autouse=True)
def english_messages(request):
    """Unit tests assert English messages; tests of Japanese text use translation.override("ja").

    Pages in browser and client tests pick their language per request (LocaleMiddleware).
    """
    if not request.config.pluginmanager.has_plugin("django"):
        yield
        return
    from django.utils import translation

    with translation.override("en"):
        yield
