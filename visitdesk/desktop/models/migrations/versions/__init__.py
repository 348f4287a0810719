"""Alembic revision scripts (a package so that `find_packages` ships them)."""
