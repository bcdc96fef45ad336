"""The company in scope for tenant reads.

Tenant managers read this to fail closed: with no company in scope they return no rows. The request
middleware sets it from the logged-in user, management commands from `--company`, tasks from the
company of the work they do. Querysets capture the company when they are created; prefetches and
related managers read it when they run, so keep the scope open while results are evaluated.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_company_id: ContextVar[int | None] = ContextVar("estatecrm_company_id", default=None)


def current_company_id() -> int | None:
    return _company_id.get()


@contextmanager
def company_scope(company_or_id) -> Iterator[None]:
    """Run the block with `company_or_id` (a Company or its pk) as the company in scope."""
    company_id = getattr(company_or_id, "pk", company_or_id)
    token = _company_id.set(company_id)
    try:
        yield
    finally:
        _company_id.reset(token)
