"""Triage: stack, link and group a case's items, and order them for review."""
