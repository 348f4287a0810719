"""Check-ins: the patient's "I'm Here" tap and the desk's status changes."""
