"""Pagination that stays fast on large tables."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """A paginator that stops counting after ``cap`` rows.

    An exact count of a large filtered table costs more than rendering the
    page; past the cap the list says "10,000+" and filters narrow it down.
    """

    def __init__(self, *args, cap: int = COUNT_CAP, **kwargs):
        super().__init__(*args, **kwargs)
        self.cap = cap
        self.capped = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        total = queryset.order_by()[: self.cap + 1].count() if hasattr(queryset, "order_by") else len(queryset)
        self.capped = total > self.cap
        return min(total, self.cap)


class CappedPageNumberPagination(PageNumberPagination):
    """API pages with a capped count; ``count_capped`` says when there are more rows than ``count``."""

    django_paginator_class = CappedPaginator
    page_size_query_param = "page_size"
    max_page_size = 200

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
