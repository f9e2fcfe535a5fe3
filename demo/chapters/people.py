"""Chapter 1 of the demo: the organisation, teams and people of an ML company. Safe to run again."""

from django.contrib.auth import get_user_model

from teams.models import Membership, Team

User = get_user_model()

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "kintsugi-demo"

TEAMS = [
    (
        "ml-platform",
        "ML Platform",
        "Feature store, training pipelines and the model serving platform.",
        "Europe/London",
    ),
    ("fraud", "Fraud", "Real-time fraud scoring models for card and account payments.", "Europe/Berlin"),
    ("recsys", "Recommendations", "Home feed ranking and similar-item recommendations.", "America/New_York"),
]

PEOPLE = [
    # username, first, last, {team: role}
    ("demo", "Dana", "Okafor", {"ml-platform": "lead", "fraud": "member"}),
    ("amara", "Amara", "Nwosu", {"ml-platform": "member"}),
    ("kenji", "Kenji", "Watanabe", {"ml-platform": "member", "recsys": "member"}),
    ("lucia", "Lucía", "Fernández", {"fraud": "lead"}),
    ("priya", "Priya", "Raman", {"fraud": "member"}),
    ("tomas", "Tomás", "Novak", {"fraud": "member"}),
    ("mei", "Mei", "Lin", {"recsys": "lead"}),
    ("oliver", "Oliver", "Grant", {"recsys": "member"}),
    ("sofia", "Sofia", "Rossi", {"recsys": "member", "ml-platform": "member"}),
]


ROLE_WORDS = {"lead": "lead", "member": "member"}


def demo_sign_ins() -> list[dict[str, str]]:
    """Return each demo person's username, name and roles in words, in the order of ``PEOPLE``."""
    team_names = {slug: name for slug, name, _, _ in TEAMS}
    sign_ins = []
    for username, first, last, roles in PEOPLE:
        words = [f"{ROLE_WORDS[role]} of {team_names[slug]}" for slug, role in roles.items()]
        if username == DEMO_USERNAME:
            words.append("staff (admin)")
        sign_ins.append({"username": username, "name": f"{first} {last}", "roles": ", ".join(words)})
    return sign_ins


def demo_is_seeded() -> bool:
    """Return whether the demo organisation's people exist (``manage.py seed_demo`` ran)."""
    return User.objects.filter(username=DEMO_USERNAME).exists()


def seed() -> dict[str, Team]:
    """Create the demo teams and people when missing; never change what exists."""
    teams = {}
    for slug, name, description, timezone in TEAMS:
        teams[slug], _ = Team.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "timezone": timezone}
        )
    for username, first, last, roles in PEOPLE:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            if username == DEMO_USERNAME:
                user.is_staff = True
                user.is_superuser = True
            user.save()
        for slug, role in roles.items():
            Membership.objects.get_or_create(user=user, team=teams[slug], defaults={"role": role})
    return teams
