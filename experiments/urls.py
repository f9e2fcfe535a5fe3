"""Pages of experiments and game days."""

from django.urls import path

from experiments import views

app_name = "experiments"

urlpatterns = [
    path("experiments/", views.experiment_index, name="experiment-list"),
    path("experiments/<id:pk>/", views.experiment_detail, name="experiment-detail"),
    path("experiments/<id:pk>/steps/", views.experiment_step_page, name="experiment-step"),
    path("experiments/<id:pk>/conclude/", views.experiment_conclude_page, name="experiment-conclude"),
    path("game-days/", views.game_day_index, name="game-day-list"),
    path("game-days/new/", views.game_day_plan_page, name="game-day-plan"),
    path("game-days/<id:pk>/", views.game_day_detail, name="game-day-detail"),
    path("game-days/<id:pk>/edit/", views.game_day_edit, name="game-day-edit"),
    path("game-days/<id:pk>/start/", views.game_day_start_page, name="game-day-start"),
    path("game-days/<id:pk>/finish/", views.game_day_finish_page, name="game-day-finish"),
    path("game-days/<id:pk>/abort/", views.game_day_abort_page, name="game-day-abort"),
]
