"""Fixtures of the loader's tests (imported by them: vendor/tests/conftest.py is left to the other parts): the package's agents as users."""

import pytest

from estatecrm.core import testing


@pytest.fixture
def jp_agents(company, org):
    """The JAPANESE package's two agents, users of 渋谷店 and 新宿店."""
    return {
        "sato@demo.example.jp": testing.make_user(company, org["SBY"], email="sato@demo.example.jp", name="佐藤 花子"),
        "suzuki@demo.example.jp": testing.make_user(company, org["SJK"], email="suzuki@demo.example.jp", name="鈴木 一郎"),
    }
