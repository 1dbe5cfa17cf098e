"""Quart blueprints. Each capability module exposes `blueprint` and is listed here."""

BLUEPRINT_MODULES = [
    "engage.views.health",
    "engage.views.auth",
    "engage.views.me",
    "engage.views.admin",
    "engage.views.notifications",
    "engage.views.webhooks",
    "engage.views.vitals",
    "engage.views.advice",
    "engage.views.medication",
    "engage.views.fhir",
]
