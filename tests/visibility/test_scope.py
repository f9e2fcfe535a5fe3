"""Organisation-wide things are the same for everyone signed in; team-only details stay in the team."""


def test_member_emails_are_for_team_mates_and_staff(api_client, world):
    api_client.force_authenticate(world.outsider)
    listing = api_client.get("/api/v1/teams/")
    detail = api_client.get("/api/v1/teams/fraud/")
    assert listing.status_code == detail.status_code == 200
    assert "priya@fraud.example" not in listing.content.decode() + detail.content.decode()
    assert "priya" in detail.content.decode()  # who is in the team stays organisation-wide
    for viewer in (world.lead, world.staff):
        api_client.force_authenticate(viewer)
        assert "priya@fraud.example" in api_client.get("/api/v1/teams/fraud/").content.decode()


def test_deployments_are_organisation_wide_like_the_model_pages_that_show_them(api_client, client, world):
    client.force_login(world.outsider)
    assert world.deployment.run_url in client.get(f"/models/{world.model.pk}/").content.decode()
    api_client.force_authenticate(world.outsider)
    listing = api_client.get("/api/v1/deployments/")
    assert [row["id"] for row in listing.json()["results"]] == [world.deployment.pk]
    assert api_client.get(f"/api/v1/deployments/{world.deployment.pk}/").status_code == 200
