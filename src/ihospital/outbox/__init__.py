"""Transactional outbox: events and deferred work written with the change, drained by workers."""
