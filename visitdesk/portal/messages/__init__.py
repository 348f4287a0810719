"""Secure messages: threads between patient accounts and the practice, with attachments."""
