from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Post-mortems"

    def ready(self) -> None:
        from incidents.hooks import close_check_register
        from postmortems.selectors import postmortem_close_blocker

        # Closing an incident waits for its post-mortem (published, or marked not needed).
        close_check_register(postmortem_close_blocker)
