"""Passwords, sessions and tokens, roles and permissions, field encryption."""
