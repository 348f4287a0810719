"""The portal on the network: the FastAPI app and its routes, dependencies, TLS, the command line,
settings, HTTP errors, logging, password and token security, and outgoing email and text."""
