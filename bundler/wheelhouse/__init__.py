"""The wheelhouse: builds, lock files, manifest, installer script and the fetch pipeline."""
