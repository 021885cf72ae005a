"""Supervision (互联网医疗监管): the rule catalogue, its regional and institutional settings,
and alerts."""
