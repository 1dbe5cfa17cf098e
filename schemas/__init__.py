"""Pydantic models of every event, request, response and job payload."""
