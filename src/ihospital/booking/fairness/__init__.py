"""Fairness of booking (防号贩子): rate limits on booking attempts and scalper flags for the
institution's review."""
