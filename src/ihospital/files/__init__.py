"""Stored files: uploads (JPEG, PNG, PDF) checked by content, kept in a pluggable object store."""
