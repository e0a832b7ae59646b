"""The simple-repository client (PEP 503/691/658/592) over `bundler.net`."""
