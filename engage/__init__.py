"""Engage: a realtime patient-engagement server for clinics."""
