"""The contract between the desk, the portal and the reports: wire models, the catalogue of staff
commands and the text-safety rules, plain Python shared by every part.

A leaf package: it imports nothing else of VisitDesk, so the desktop, the sync engine, the reports
and the portal can all depend on it without depending on each other.
"""
