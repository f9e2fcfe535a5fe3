"""Where the apps built on post-mortems plug into the post-mortem services.

Search reads post-mortems and learnings, so post-mortems must not import it:
the import graph stays one-way (teams <- incidents <- post-mortems <- search),
as ``incidents/hooks.py`` keeps it below post-mortems. Where a post-mortem
service needs search, it calls a hook here, and search registers what it
provides in its ``AppConfig.ready()`` (``search/apps.py``):

- a *post-mortem follower*: keeps data derived from a post-mortem (and its
  incident) current, given the post-mortem whose text, factors or state changed;
- a *learning follower*: the same for a learning written or changed.

Hooks are not signals: the services call them by name, at the point in their
flow where the docstring says, inside the caller's transaction.
"""

from collections.abc import Callable

PostmortemFollower = Callable[..., object]
LearningFollower = Callable[..., object]

_postmortem_followers: list[PostmortemFollower] = []
_learning_followers: list[LearningFollower] = []


def postmortem_follower_register(follower: PostmortemFollower) -> None:
    """Register ``follower(*, postmortem)``, called after the post-mortem's text, factors or state changed."""
    if follower not in _postmortem_followers:
        _postmortem_followers.append(follower)


def learning_follower_register(follower: LearningFollower) -> None:
    """Register ``follower(*, learning)``, called after the learning was written or changed."""
    if follower not in _learning_followers:
        _learning_followers.append(follower)


def postmortem_changed(*, postmortem) -> None:
    """Tell the post-mortem followers that the post-mortem changed; call after the change is saved."""
    for follower in _postmortem_followers:
        follower(postmortem=postmortem)


def learning_changed(*, learning) -> None:
    """Tell the learning followers that the learning changed; call after the change is saved."""
    for follower in _learning_followers:
        follower(learning=learning)
