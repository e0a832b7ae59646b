"""Dependency resolution for a target (resolvelib provider over `bundler.index`)."""
