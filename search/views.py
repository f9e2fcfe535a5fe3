"""The search page: learnings, post-mortems and incidents from one box."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.validation import id_parse
from search.forms import SearchForm
from search.selectors import SearchFilters, search


def filters_from(cleaned: dict) -> SearchFilters:
    """Return search filters from the cleaned data of a SearchForm (or the API's equivalent)."""
    return SearchFilters(
        kinds=(cleaned["kind"],) if cleaned.get("kind") else (),
        team_id=cleaned["team"].pk if cleaned.get("team") else None,
        model_id=cleaned["model"].pk if cleaned.get("model") else None,
        category=cleaned.get("category") or None,
        tag=cleaned.get("tag") or None,
        since=cleaned.get("since"),
        until=cleaned.get("until"),
    )


def _page_number(raw: str | None) -> int:
    number = id_parse(raw or "")
    return number if number is not None and number < 1000 else 1


@require_GET
def search_page(request):
    """Show one page of results for the words and filters in the query string; 400 when they are invalid."""
    form = SearchForm(request.GET or None)
    results, status = None, 200
    if form.is_bound:
        if form.is_valid():
            if form.cleaned_data["q"].strip():
                results = search(
                    user=request.user,
                    query=form.cleaned_data["q"].strip(),
                    filters=filters_from(form.cleaned_data),
                    page=_page_number(request.GET.get("page")),
                )
        else:
            status = 400
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "results": results, "query": query.urlencode()}
    return render(request, "search/search.html", context, status=status)
