"""The ``yteso`` command line."""
