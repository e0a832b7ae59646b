"""The transport layer: HTTP session, retries, deadlines, cancellation, verified downloads."""
