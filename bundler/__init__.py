"""airgap-kit's bundler: fetch, audit, pack and verify an offline Python kit for a *target* host."""

__version__ = "0.1.0"
