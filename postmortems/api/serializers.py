"""Shapes of post-mortems, templates and coach findings in the API."""

from django.urls import reverse
from rest_framework import serializers

from config.validation import IdField, QueryParams, TextField, VersionField
from incidents.models import IncidentKind
from postmortems.models import (
    FactorCategory,
    Postmortem,
    PostmortemStatus,
    SectionKind,
    SectionPrefill,
    Template,
    TemplateSection,
)


class IncidentSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = TextField()
    title = TextField()
    severity = TextField()
    team = TextField(source="team.slug")


class PostmortemListSerializer(serializers.ModelSerializer):
    incident = IncidentSummarySerializer(read_only=True)
    web_url = serializers.SerializerMethodField()

    class Meta:
        model = Postmortem
        fields = [
            "id",
            "title",
            "status",
            "revision",
            "version",
            "published_version",
            "template_name",
            "incident",
            "updated_at",
            "published_at",
            "web_url",
        ]

    def get_web_url(self, postmortem) -> str:
        return reverse("postmortems:detail", kwargs={"pk": postmortem.pk})


class FactorSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    category = TextField()
    category_label = TextField()
    description = TextField()
    model_version_id = serializers.IntegerField(allow_null=True)
    model_version_label = TextField()
    deployment_id = serializers.IntegerField(allow_null=True)
    deployment_label = TextField()


class ReviewerSerializer(serializers.Serializer):
    username = TextField(source="user.username")
    invited_at = serializers.DateTimeField(source="created_at")


class ReviewSerializer(serializers.Serializer):
    reviewer = TextField(source="reviewer.username", allow_null=True)
    decision = TextField()
    comment = TextField()
    revision = serializers.IntegerField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class PostmortemDetailSerializer(PostmortemListSerializer):
    """A post-mortem as the reader may see it: the working copy, or the published version."""

    sections = serializers.JSONField(read_only=True)
    content = serializers.SerializerMethodField()
    factors = serializers.SerializerMethodField()
    facts = serializers.JSONField(read_only=True)
    reviewers = ReviewerSerializer(many=True, read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True)
    lessons = serializers.SerializerMethodField()
    reading = serializers.SerializerMethodField()

    class Meta(PostmortemListSerializer.Meta):
        fields = [
            *PostmortemListSerializer.Meta.fields,
            "reading",
            "sections",
            "content",
            "factors",
            "facts",
            "lessons",
            "reviewers",
            "reviews",
        ]

    def _copy(self, postmortem) -> dict:
        return self.context["copies"][postmortem.pk]

    def to_representation(self, postmortem) -> dict:
        data = super().to_representation(postmortem)
        if not self._copy(postmortem)["working"]:
            # Readers of the published text see the text, not the review behind it.
            data["reviewers"], data["reviews"] = [], []
        return data

    def get_content(self, postmortem) -> dict:
        return self._copy(postmortem)["content"]

    def get_factors(self, postmortem) -> list[dict]:
        return FactorSerializer(self._copy(postmortem)["factors"], many=True).data

    def get_lessons(self, postmortem) -> list[str]:
        return self._copy(postmortem)["lessons"]

    def get_reading(self, postmortem) -> dict:
        """Which text this is: the working copy, or version N as published."""
        copy = self._copy(postmortem)
        return {"version": copy["version"], "published": copy["published"], "title": copy["title"]}


class PostmortemListParamsSerializer(QueryParams):
    team = TextField(required=False, max_length=100, help_text="Team slug or id")
    status = serializers.ChoiceField(choices=PostmortemStatus.choices, required=False)
    incident = IdField(required=False)
    q = TextField(required=False, max_length=200, allow_blank=True, help_text="Words in the title")


class PostmortemCreateSerializer(serializers.Serializer):
    incident = IdField()
    template = IdField(required=False)


class FactorInputSerializer(serializers.Serializer):
    id = IdField(required=False, allow_null=True)
    category = serializers.ChoiceField(choices=FactorCategory.choices, required=False, allow_blank=True)
    description = TextField(required=False, allow_blank=True, max_length=10_000)
    model_version = IdField(required=False, allow_null=True)
    deployment = IdField(required=False, allow_null=True)
    delete = serializers.BooleanField(required=False, default=False)


class PostmortemUpdateSerializer(serializers.Serializer):
    based_on = VersionField(help_text="The version your text starts from.")
    title = TextField(required=False, max_length=300)
    content = serializers.DictField(
        required=False, help_text="Section key to text (or, for a chain of whys, a list of {why, because})."
    )
    factors = FactorInputSerializer(many=True, required=False, max_length=60)
    note = TextField(required=False, allow_blank=True, max_length=300)


class SubmitSerializer(serializers.Serializer):
    reviewers = serializers.ListField(
        child=TextField(max_length=150),
        required=False,
        default=list,
        max_length=50,
        help_text="User names of the reviewers.",
    )


class CommentSerializer(serializers.Serializer):
    comment = TextField(required=False, allow_blank=True, default="", max_length=10_000)


class PublishSerializer(serializers.Serializer):
    acknowledge = serializers.JSONField(
        required=False,
        default=dict,
        help_text="Fingerprints of the coach findings you publish as they are: a list, or fingerprint to note.",
    )

    def validate_acknowledge(self, value) -> dict:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return dict.fromkeys(value[:500], "")
        if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return dict(list(value.items())[:500])
        raise serializers.ValidationError("Give a list of fingerprints, or an object of fingerprint to note.")


class ReopenSerializer(serializers.Serializer):
    reason = TextField(required=False, allow_blank=True, default="", max_length=300)


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    revision = serializers.IntegerField()
    based_on = serializers.IntegerField(allow_null=True)
    author = TextField(source="author.username", allow_null=True, default=None)
    note = TextField()
    title = TextField()
    content = serializers.JSONField()
    factors = serializers.JSONField()
    created_at = serializers.DateTimeField()


class FindingSerializer(serializers.Serializer):
    rule = TextField(source="rule_id")
    title = TextField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    text = TextField()
    explanation = TextField()
    reframing = TextField(help_text="A question that reframes the sentence around the system.")
    sentence = TextField(help_text="The sentence the finding sits in, as written.")
    rewrite = TextField(help_text="The sentence said about the system instead of a person; empty when no rewrite fits.")


class SectionFindingSerializer(serializers.Serializer):
    section = TextField(source="section_key")
    section_title = TextField()
    fingerprint = TextField()
    acknowledged = serializers.BooleanField()
    finding = FindingSerializer()


class BlamelessCheckSerializer(serializers.Serializer):
    text = TextField(max_length=100_000, allow_blank=True, trim_whitespace=False)


class TemplateSectionSerializer(serializers.ModelSerializer):
    key = serializers.SlugField(max_length=60, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=SectionKind.choices, default=SectionKind.MARKDOWN)
    prefill = serializers.ChoiceField(choices=SectionPrefill.choices, default="", allow_blank=True)

    class Meta:
        model = TemplateSection
        fields = ["key", "title", "prompt", "help_text", "kind", "required", "prefill", "position"]
        read_only_fields = ["position"]


class TemplateSerializer(serializers.ModelSerializer):
    # The built-in templates belong to no team.
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    sections = TemplateSectionSerializer(many=True, read_only=True)
    is_builtin = serializers.BooleanField(read_only=True)

    class Meta:
        model = Template
        fields = [
            "id",
            "name",
            "description",
            "team",
            "is_builtin",
            "builtin_key",
            "incident_kinds",
            "is_active",
            "sections",
        ]


class TemplateWriteSerializer(serializers.Serializer):
    team = serializers.SlugField(required=False, help_text="Slug of the team (on create).")
    name = TextField(max_length=120)
    description = TextField(required=False, allow_blank=True, default="", max_length=2000)
    incident_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=IncidentKind.choices), required=False, default=list
    )
    copy_from = IdField(required=False)
    sections = TemplateSectionSerializer(many=True, required=False, max_length=40)
