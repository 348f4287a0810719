"""VisitDesk: the staff desktop and portal service of a patient portal."""
