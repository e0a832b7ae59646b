"""The kit: source tarballs, pack, archive reading, verify, inspect and the SBOM."""
