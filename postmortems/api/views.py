"""API views of post-mortems, templates and the blameless coach. Each operation calls one service."""

from django.contrib.auth import get_user_model
from django.db.models import Q
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from config.validation import TextField, id_parse
from incidents.selectors.incidents import incident_get_visible
from postmortems.api import serializers as api
from postmortems.models import Postmortem, Template
from postmortems.selectors.coach import postmortem_findings, text_findings
from postmortems.selectors.postmortems import (
    factor_snapshot,
    postmortem_detail,
    postmortem_list,
    postmortem_reader_copy,
    postmortem_versions,
    user_can_view_postmortem,
    user_sees_working_copy,
)
from postmortems.selectors.templates import template_get_visible, template_list, template_with_sections
from postmortems.services.postmortems import (
    EditConflict,
    FactorInput,
    PostmortemError,
    PostmortemPermissionError,
    PublishBlocked,
    postmortem_publish,
    postmortem_reopen,
    postmortem_review,
    postmortem_save,
    postmortem_start,
    postmortem_submit,
)
from postmortems.services.templates import (
    TemplateError,
    template_create,
    template_sections_replace,
    template_update,
)
from teams.models import Team
from teams.selectors import user_is_team_member, user_team_ids

User = get_user_model()

UNKNOWN_INCIDENT = "No incident {id} that you can see."
UNKNOWN_TEMPLATE = "No template {id} that you can use."
UNKNOWN_REVIEWERS = "No one is called {names}."
UNKNOWN_TEAM = "No team {slug!r} of yours."
TEAM_REQUIRED = "Say which team the template belongs to (team: its slug)."


def _raise(error: PostmortemError | TemplateError):
    if isinstance(error, PostmortemPermissionError):
        raise PermissionDenied(str(error))
    raise ValidationError({"detail": str(error)})


class PostmortemViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Post-mortems: read what you may; write, review and publish through the workflow's rules."""

    serializer_class = api.PostmortemListSerializer
    queryset = Postmortem.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Postmortem.objects.none()
        if self.action != "list":
            return Postmortem.objects.none()
        params = api.PostmortemListParamsSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        team_id = None
        if data.get("team"):
            team_id = id_parse(data["team"])
            condition = Q(slug=data["team"]) | (Q(pk=team_id) if team_id is not None else Q(pk__in=[]))
            found = Team.objects.filter(condition).first()
            team_id = found.pk if found else -1
        postmortems = postmortem_list(
            user=self.request.user, team_id=team_id, status=data.get("status") or None, query=data.get("q", "")
        )
        if data.get("incident"):
            postmortems = postmortems.filter(incident_id=data["incident"])
        return postmortems

    @extend_schema(parameters=[api.PostmortemListParamsSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _get(self, pk) -> Postmortem:
        postmortem = postmortem_detail(pk=pk)
        if postmortem is None or not user_can_view_postmortem(user=self.request.user, postmortem=postmortem):
            raise NotFound("No such post-mortem.")
        return postmortem

    def _detail(self, postmortem: Postmortem, status_code=status.HTTP_200_OK) -> Response:
        postmortem = postmortem_detail(pk=postmortem.pk)
        copies = {postmortem.pk: postmortem_reader_copy(user=self.request.user, postmortem=postmortem)}
        data = api.PostmortemDetailSerializer(postmortem, context={"copies": copies, "request": self.request}).data
        return Response(data, status=status_code)

    @extend_schema(responses=api.PostmortemDetailSerializer)
    def retrieve(self, request, pk=None):
        return self._detail(self._get(pk))

    @extend_schema(request=api.PostmortemCreateSerializer, responses={201: api.PostmortemDetailSerializer})
    def create(self, request):
        """Start the post-mortem of an incident, from the template matching its kind unless one is given."""
        data = self._valid(api.PostmortemCreateSerializer, request.data)
        incident = incident_get_visible(user=request.user, pk=data["incident"])
        if incident is None:
            raise NotFound(UNKNOWN_INCIDENT.format(id=data["incident"]))
        template = None
        if "template" in data:
            # Only the templates the incident's team may use: another team's is answered as unknown, unnamed.
            template = (
                template_list(team_ids=[incident.team_id], include_inactive=True).filter(pk=data["template"]).first()
            )
            if template is None:
                raise ValidationError({"template": UNKNOWN_TEMPLATE.format(id=data["template"])})
        try:
            postmortem = postmortem_start(incident=incident, actor=request.user, template=template)
        except PostmortemError as error:
            _raise(error)
        return self._detail(postmortem, status.HTTP_201_CREATED)

    @staticmethod
    def _valid(serializer_class, data) -> dict:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(
        request=api.PostmortemUpdateSerializer,
        responses={
            200: api.PostmortemDetailSerializer,
            409: inline_serializer(
                "EditConflict",
                {
                    "message": TextField(),
                    "current_version": serializers.IntegerField(),
                    "based_on": serializers.IntegerField(),
                    "current": serializers.JSONField(),
                    "yours": serializers.JSONField(),
                },
            ),
        },
    )
    def partial_update(self, request, pk=None):
        """Save a new version. ``based_on`` must be the newest version, or the answer is 409 with both texts."""
        postmortem = self._get(pk)
        data = self._valid(api.PostmortemUpdateSerializer, request.data)
        factors = None
        if "factors" in data:
            factors = [
                FactorInput(
                    id=item.get("id"),
                    category=item.get("category") or "",
                    description=item.get("description") or "",
                    model_version_id=item.get("model_version"),
                    deployment_id=item.get("deployment"),
                    delete=item.get("delete", False),
                )
                for item in data["factors"]
            ]
        try:
            saved, _ = postmortem_save(
                postmortem=postmortem,
                actor=request.user,
                based_on=data["based_on"],
                title=data.get("title"),
                content=data.get("content"),
                factors=factors,
                note=data.get("note", ""),
            )
        except EditConflict as conflict:
            current = conflict.postmortem
            return Response(
                {
                    "message": str(conflict),
                    "current_version": current.version,
                    "based_on": conflict.based_on,
                    "current": {
                        "title": current.title,
                        "content": current.content,
                        "factors": factor_snapshot(current.factors.all()),
                        "updated_by": current.updated_by.username if current.updated_by else None,
                    },
                    "yours": {
                        "title": data.get("title"),
                        "content": data.get("content"),
                        "factors": request.data.get("factors"),
                    },
                },
                status=status.HTTP_409_CONFLICT,
            )
        except PostmortemError as error:
            _raise(error)
        return self._detail(saved)

    @extend_schema(request=api.PostmortemUpdateSerializer, responses=api.PostmortemDetailSerializer)
    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    @extend_schema(request=api.SubmitSerializer, responses=api.PostmortemDetailSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Send the draft for review to the given reviewers (user names)."""
        postmortem = self._get(pk)
        names = self._valid(api.SubmitSerializer, request.data)["reviewers"]
        people = list(User.objects.filter(username__in=names, is_active=True))
        missing = sorted(set(names) - {person.username for person in people})
        if missing:
            raise ValidationError({"reviewers": UNKNOWN_REVIEWERS.format(names=", ".join(missing))})
        try:
            postmortem = postmortem_submit(postmortem=postmortem, actor=request.user, reviewers=people)
        except PostmortemError as error:
            _raise(error)
        return self._detail(postmortem)

    def _review(self, request, pk, decision: str) -> Response:
        postmortem = self._get(pk)
        comment = self._valid(api.CommentSerializer, request.data)["comment"]
        try:
            postmortem_review(postmortem=postmortem, reviewer=request.user, decision=decision, comment=comment)
        except PostmortemError as error:
            _raise(error)
        return self._detail(postmortem)

    @extend_schema(request=api.CommentSerializer, responses=api.PostmortemDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve the current version (invited reviewers)."""
        return self._review(request, pk, "approve")

    @extend_schema(request=api.CommentSerializer, responses=api.PostmortemDetailSerializer)
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, pk=None):
        """Ask for changes, with a comment saying which; the post-mortem goes back to draft."""
        return self._review(request, pk, "request_changes")

    @extend_schema(request=api.CommentSerializer, responses=api.PostmortemDetailSerializer)
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        return self._review(request, pk, "comment")

    @extend_schema(
        request=api.PublishSerializer,
        responses={
            200: api.PostmortemDetailSerializer,
            # Open coach findings block publishing; a body that cannot be read is refused like anywhere else.
            400: inline_serializer(
                "PublishRefused",
                {
                    "message": TextField(),
                    "open_findings": api.SectionFindingSerializer(many=True, required=False),
                },
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Publish the post-mortem in review, acknowledging the coach findings that stay as they are."""
        postmortem = self._get(pk)
        acknowledgements = self._valid(api.PublishSerializer, request.data)["acknowledge"]
        try:
            postmortem = postmortem_publish(
                postmortem=postmortem, actor=request.user, acknowledgements=acknowledgements
            )
        except PublishBlocked as error:
            return Response(
                {
                    "message": str(error),
                    "open_findings": api.SectionFindingSerializer(error.open_findings, many=True).data,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        except PostmortemError as error:
            _raise(error)
        return self._detail(postmortem)

    @extend_schema(request=api.ReopenSerializer, responses=api.PostmortemDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Reopen a published post-mortem as the draft of its next revision."""
        postmortem = self._get(pk)
        reason = self._valid(api.ReopenSerializer, request.data)["reason"]
        try:
            postmortem = postmortem_reopen(postmortem=postmortem, actor=request.user, reason=reason)
        except PostmortemError as error:
            _raise(error)
        return self._detail(postmortem)

    @extend_schema(responses=api.SectionFindingSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def findings(self, request, pk=None):
        """The coach's findings in the working copy, each acknowledged or open."""
        postmortem = self._get(pk)
        if not user_sees_working_copy(user=request.user, postmortem=postmortem):
            raise PermissionDenied("Findings are for the team and the reviewers.")
        return Response(api.SectionFindingSerializer(postmortem_findings(postmortem=postmortem), many=True).data)

    @extend_schema(responses=api.VersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """Every saved version, newest first."""
        postmortem = self._get(pk)
        if not user_sees_working_copy(user=request.user, postmortem=postmortem):
            raise PermissionDenied("The history of a post-mortem is for its team and reviewers.")
        page = self.paginate_queryset(postmortem_versions(postmortem=postmortem))
        return self.get_paginated_response(api.VersionSerializer(page, many=True).data)


class TemplateViewSet(viewsets.GenericViewSet):
    """Templates: the built-in ones and your teams' own. Teams create and change theirs."""

    serializer_class = api.TemplateSerializer
    pagination_class = None
    queryset = Template.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Template.objects.none()
        team_ids = None if self.request.user.is_staff else user_team_ids(user=self.request.user)
        return template_list(team_ids=team_ids, include_inactive=True).prefetch_related("sections")

    def list(self, request):
        return Response(api.TemplateSerializer(self.get_queryset(), many=True).data)

    def _get(self, pk) -> Template:
        template = template_get_visible(user=self.request.user, pk=pk)
        if template is None:
            raise NotFound("No such template.")
        return template

    def retrieve(self, request, pk=None):
        return Response(api.TemplateSerializer(self._get(pk)).data)

    @extend_schema(request=api.TemplateWriteSerializer, responses={201: api.TemplateSerializer})
    def create(self, request):
        """Create a team template: from ``sections``, a copy of ``copy_from``, or one summary section."""
        serializer = api.TemplateWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "team" not in data:
            raise ValidationError({"team": TEAM_REQUIRED})
        team = Team.objects.filter(slug=data["team"]).first()
        if team is None or not user_is_team_member(user=request.user, team=team):
            raise ValidationError({"team": UNKNOWN_TEAM.format(slug=data["team"])})
        copy_from = None
        if "copy_from" in data:
            copy_from = template_get_visible(user=request.user, pk=data["copy_from"])
            if copy_from is None:
                raise ValidationError({"copy_from": UNKNOWN_TEMPLATE.format(id=data["copy_from"])})
        try:
            template = template_create(
                team=team,
                name=data["name"],
                description=data["description"],
                incident_kinds=data["incident_kinds"],
                copy_from=copy_from,
                actor=request.user,
            )
            if data.get("sections"):
                template_sections_replace(template=template, sections=data["sections"])
        except TemplateError as error:
            _raise(error)
        return Response(api.TemplateSerializer(template_with_sections(pk=template.pk)).data, status=201)

    @extend_schema(request=api.TemplateWriteSerializer, responses=api.TemplateSerializer)
    def partial_update(self, request, pk=None):
        """Change a team template; ``sections``, when given, replace its sections in that order."""
        template = self._get(pk)
        if template.is_builtin or not user_is_team_member(user=request.user, team=template.team):
            raise PermissionDenied("Only the team's members change its templates; built-in ones are read-only.")
        serializer = api.TemplateWriteSerializer(
            data={"name": template.name, "description": template.description, **request.data}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            template_update(
                template=template,
                name=data["name"],
                description=data["description"],
                incident_kinds=data["incident_kinds"] if "incident_kinds" in request.data else template.incident_kinds,
            )
            if "sections" in data:
                template_sections_replace(template=template, sections=data["sections"])
        except TemplateError as error:
            _raise(error)
        return Response(api.TemplateSerializer(template_with_sections(pk=template.pk)).data)


class BlamelessCheckView(APIView):
    """Run the blameless coach on any text: editors and bots use it as people write."""

    @extend_schema(
        request=api.BlamelessCheckSerializer,
        responses=inline_serializer(
            "BlamelessCheckResult", {"count": serializers.IntegerField(), "findings": api.FindingSerializer(many=True)}
        ),
    )
    def post(self, request):
        serializer = api.BlamelessCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        findings = text_findings(text=serializer.validated_data["text"])
        return Response({"count": len(findings), "findings": api.FindingSerializer(findings, many=True).data})
