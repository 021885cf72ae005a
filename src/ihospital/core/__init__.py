"""Small shared pieces: clock, i18n, pagination, identifiers."""
