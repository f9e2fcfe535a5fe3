"""The search page's form: the words, and the library's filters."""

from django import forms

from postmortems.learnings_forms import LearningFilterForm
from search.models import SearchKind
from search.selectors import MAX_QUERY_LENGTH

QUERY_TOO_LONG = "Search for at most {limit} characters."


class SearchForm(LearningFilterForm):
    q = forms.CharField(
        required=False,
        label="Search",
        max_length=MAX_QUERY_LENGTH,
        error_messages={"max_length": QUERY_TOO_LONG.format(limit=MAX_QUERY_LENGTH)},
        widget=forms.TextInput(attrs={"type": "search", "placeholder": 'drift feature store, "null rate", -staging'}),
    )
    kind = forms.ChoiceField(choices=[("", "Everything"), *SearchKind.choices], required=False, label="Kind")

    field_order = ["q", "kind", "team", "model", "category", "tag", "since", "until"]
