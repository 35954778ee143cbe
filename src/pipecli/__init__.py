"""pipe: a command-line sales-pipeline tracker over local files."""

__version__ = "0.1.0"
