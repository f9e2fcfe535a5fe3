"""One module per sender kind, each exposing ``SENDER`` (see ``incidents.ingest.senders``)."""

from importlib import import_module

from incidents.ingest.senders import Sender


def sender_for(kind: str) -> Sender:
    """Return the Sender of a source kind ("github", "gitlab"…)."""
    return import_module(f"incidents.ingest.adapters.{kind}").SENDER
