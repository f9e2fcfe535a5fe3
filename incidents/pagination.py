"""Pagination that stays fast on large tables."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from config.api import StrictPageNumberPagination

PAGE_SIZE_INVALID = "Give page_size as a whole number from 1; larger than {max} reads as {max}."

# Pages count at most this many rows: 40 pages of 25, then filters narrow the list down.
PAGE_COUNT_CAP = 1_000
# API clients page further (50 pages of 200).
API_COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """A paginator that stops counting after ``cap`` rows.

    An exact count of a large filtered table costs more than rendering the
    page, and grows with the table; past the cap the list says "1,000+" and
    filters (a date range, a team) reach older rows.
    """

    def __init__(self, *args, cap: int = PAGE_COUNT_CAP, **kwargs):
        super().__init__(*args, **kwargs)
        self.cap = cap
        self.capped = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        total = queryset.order_by()[: self.cap + 1].count() if hasattr(queryset, "order_by") else len(queryset)
        self.capped = total > self.cap
        return min(total, self.cap)


class ApiCappedPaginator(CappedPaginator):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, cap=API_COUNT_CAP, **kwargs)


class CappedPageNumberPagination(StrictPageNumberPagination):
    """API pages with a capped count; ``count_capped`` says when there are more rows than ``count``."""

    django_paginator_class = ApiCappedPaginator
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        """Return the page size asked for (at most ``max_page_size``); refuse one that is no page size.

        DRF falls back to the default size for ``page_size=abc``; a client then reads a page it did not
        ask for without knowing.
        """
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        text = values[0].strip()
        if len(values) > 1 or not (text.isascii() and text.isdigit()) or not text.strip("0"):
            raise ValidationError({self.page_size_query_param: [PAGE_SIZE_INVALID.format(max=self.max_page_size)]})
        # Many digits are a large number: no need to read them all.
        return self.max_page_size if len(text.lstrip("0")) > 6 else min(int(text), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "count_capped": self.page.paginator.capped,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count_capped"] = {"type": "boolean"}
        return response
