"""Checks the project runs on itself (`python -m parley._dev.imports`)."""
