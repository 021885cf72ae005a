"""Institutions, national department codes, practitioners, practice sites, credential review."""
