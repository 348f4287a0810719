"""The practice's own records (patients by MRN, appointments by external id), upserted in bulk
by the desk."""
