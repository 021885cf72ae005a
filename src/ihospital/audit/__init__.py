"""Hash-chained, append-only audit log (全程留痕) and its verification."""
