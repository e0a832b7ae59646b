"""Filesystem layer: atomic writes, hashing, the content-addressed cache."""
