"""core.lookups: a set as one parameter (AnyOf) finds what `__in` finds, on both databases."""

import datetime

import pytest
from django.db.models import F

from estatecrm.core.lookups import AnyOf
from estatecrm.crm.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(company):
    return [Customer.objects.create(company=company, name=name, kana=kana, birth_date=born)
            for name, kana, born in (("山田 太郎", "ヤマダ タロウ", datetime.date(1980, 4, 1)), ("鈴木 花子", "", None),
                                     ("O'Brien 100%", "", datetime.date(1975, 1, 31)))]


@pytest.mark.parametrize(("field", "pick"), [
    ("pk", lambda customer: customer.pk),
    ("name", lambda customer: customer.name),
    ("birth_date", lambda customer: customer.birth_date),
])
def test_any_of_finds_what_in_finds(company, customers, field, pick):
    wanted = [pick(customer) for customer in customers[::2]] + ([999_999_999] if field == "pk" else [])
    found = Customer.objects.for_company(company).filter(AnyOf(F(field), wanted)).values_list("pk", flat=True)
    assert sorted(found) == sorted(Customer.objects.for_company(company).filter(**{f"{field}__in": wanted}).values_list("pk", flat=True))
    assert sorted(found) == [customers[0].pk, customers[2].pk]


def test_any_of_nothing_matches_nothing(company, customers):
    assert not Customer.objects.for_company(company).filter(AnyOf(F("pk"), [])).exists()
    assert Customer.objects.for_company(company).exclude(AnyOf(F("pk"), [])).count() == 3


def test_any_of_takes_more_values_than_sqlite_binds_in_one_statement(company, customers):
    wanted = [customers[1].pk, *range(10**9, 10**9 + 40_000)]
    assert list(Customer.objects.for_company(company).filter(AnyOf(F("pk"), wanted)).values_list("name", flat=True)) == ["鈴木 花子"]
