"""Alembic migrations of the local store; applied at start-up by `visitdesk.desktop.models.migrate`.

This is a package only so that installers ship the scripts; nothing imports it.
"""
