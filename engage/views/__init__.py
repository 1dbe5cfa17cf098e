"""Quart blueprints. Each capability module exposes `blueprint` and is listed here."""

BLUEPRINT_MODULES = [
    "engage.views.health",
    "engage.views.auth",
    "engage.views.me",
    "engage.views.admin",
    "engage.views.conversations",
    "engage.views.pages",
    "engage.views.stats",
    "engage.views.clinics",
    "engage.views.appointments",
    "engage.views.vitals",
    "engage.views.notifications",
    "engage.views.webhooks",
    "engage.views.advice",
    "engage.views.medication",
    "engage.views.fhir",
    "engage.views.records",
    "engage.views.documents",
    "engage.views.api_docs",
    "engage.views.care",
    "engage.views.assistant",
]
