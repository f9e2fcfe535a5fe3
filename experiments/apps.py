from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "experiments"
    verbose_name = "Experiments and game days"

    def ready(self) -> None:
        from experiments.services.rollouts import experiment_deployment_follower
        from incidents.hooks import deployment_follower_register

        # Deployment services call this once a pipeline event is recorded: its rollout and arm follow.
        deployment_follower_register(experiment_deployment_follower)
