"""The data model: the target interpreter, index files (links) and core metadata.

Below everything that does I/O; imports only `bundler.errors` and `bundler.policy`.
"""
