"""What the teams API reads and writes: teams, memberships, and the caller's own account."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from config.validation import TextField
from teams.models import Membership, Team

User = get_user_model()


class UserSummarySerializer(serializers.ModelSerializer):
    full_name = TextField(source="get_full_name", read_only=True)
    email = serializers.EmailField(read_only=True, allow_null=True, help_text="Shown to team-mates and staff only.")

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "email"]


class MembershipSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "joined_at"]


class TeamSerializer(serializers.ModelSerializer):
    members = MembershipSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "description", "timezone", "digest_weekday", "digest_hour", "members"]
        extra_kwargs = {"slug": {"required": False}}

    def to_representation(self, team):
        data = super().to_representation(team)
        if not self._sees_member_emails(team):
            for membership in data["members"]:
                membership["user"]["email"] = None
        return data

    def _sees_member_emails(self, team) -> bool:
        """Return whether the caller may read the members' addresses: a team-mate, or staff."""
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        # The memberships are read with the team already: no query of its own.
        return user.is_staff or any(membership.user_id == user.pk for membership in team.memberships.all())


class MeSerializer(serializers.ModelSerializer):
    full_name = TextField(source="get_full_name", read_only=True)
    teams = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "email", "is_staff", "teams"]

    def get_teams(self, user) -> list[dict]:
        return [
            {"id": m.team_id, "slug": m.team.slug, "name": m.team.name, "role": m.role}
            for m in user.memberships.select_related("team")
        ]
