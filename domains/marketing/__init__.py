"""The marketing domain (team:marketing): campaigns, engagement and the unified customer view."""
