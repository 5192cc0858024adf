"""Worker processes and their clients: torch runs here, never in a GUI process."""
