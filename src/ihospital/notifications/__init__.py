"""In-app inbox (站内信) and SMS through a pluggable sender, delivered through the outbox."""
