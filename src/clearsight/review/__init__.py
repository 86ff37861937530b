"""The human step: accounts, the audit log, previews, exposure, decisions, the server."""
