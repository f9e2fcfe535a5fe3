"""Model registry pages: the list of models and each model's lineage."""

from django.http import Http404
from django.shortcuts import render

from experiments.selectors import experiments_of_model
from incidents.pagination import CappedPaginator
from incidents.selectors.registry import model_aliases, model_get, model_latest_deployments, model_lineage, model_list

MODELS_PAGE_SIZE = 25


def model_index(request):
    """List registered models with their versions, aliases, latest deployments and open incidents."""
    from teams.models import Team

    team = None
    team_slug = request.GET.get("team", "").strip()
    if team_slug:
        team = Team.objects.filter(slug=team_slug).first()
    q = request.GET.get("q", "").strip()[:200]
    queryset = model_list(user=request.user, team=team, q=q)
    if team_slug and team is None:
        queryset = queryset.none()
    page = CappedPaginator(queryset, MODELS_PAGE_SIZE).get_page(request.GET.get("page"))
    models = list(page.object_list)
    ids = [model.id for model in models]
    latest = model_latest_deployments(model_ids=ids)
    aliases = model_aliases(model_ids=ids)
    rows = [
        {"model": model, "latest": latest.get(model.id, []), "aliases": aliases.get(model.id, [])} for model in models
    ]
    context = {
        "page": page,
        "rows": rows,
        "teams": Team.objects.order_by("name").only("id", "name", "slug"),
        "team_slug": team_slug,
        "q": q,
    }
    return render(request, "incidents/model_list.html", context)


def model_lineage_page(request, pk):
    """Show the model's versions, their deployments per environment, alias moves and incidents."""
    model = model_get(pk=pk)
    if model is None:
        raise Http404("No such model.")
    lineage = model_lineage(user=request.user, model=model, page_number=request.GET.get("page"))
    experiments = experiments_of_model(user=request.user, model=model)
    context = {
        "lineage": lineage,
        "model": model,
        "experiments": experiments,
    }
    return render(request, "incidents/model_lineage.html", context)
