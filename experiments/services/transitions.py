"""What experiments and game days share about their lifecycles: the refusal of a move the table forbids.

Each lifecycle is a table from a state to the states it may move to, and a
verb per target state (the page's button, the API's action). A refused move
names the verbs that are allowed, so pages and the API answer 400 with the
same words; they catch ``InvalidTransition`` once for both lifecycles.
"""

from collections.abc import Mapping


def allowed_actions(*, table: Mapping[str, tuple[str, ...]], actions: Mapping[str, str], current: str) -> list[str]:
    """Return the verbs of the moves ``table`` allows from ``current``, in its order."""
    return [actions[target] for target in table.get(current, ())]


class InvalidTransition(Exception):
    """A move a lifecycle's table does not allow; ``allowed_actions`` names the verbs that are.

    ``allowed`` lists the target states; ``current`` and ``target`` are the
    states of the refused move. Subclasses word the message.
    """

    table: Mapping[str, tuple[str, ...]] = {}
    actions: Mapping[str, str] = {}

    def __init__(self, current: str, target: str):
        self.current = current
        self.target = target
        self.allowed = list(self.table.get(current, ()))
        self.allowed_actions = allowed_actions(table=self.table, actions=self.actions, current=current)
        super().__init__(self.describe())

    def describe(self) -> str:
        raise NotImplementedError
