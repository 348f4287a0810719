"""The registration queue: staff match a waiting registration to a patient record, or reject it."""
