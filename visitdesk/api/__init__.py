"""The contract between the desk and the portal: wire models and the catalogue of staff commands.

A leaf package: it imports nothing else of VisitDesk, so the desktop, the sync engine and the portal
can all depend on it without depending on each other.
"""
