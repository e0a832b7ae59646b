"""Policy data shipped with the package (`bundler/data/*.json`), loaded once, with sources."""
