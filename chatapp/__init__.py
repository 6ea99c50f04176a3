"""chatapp: a chat assistant that lives in the terminal."""

import logging

__version__ = "0.1.0"

# What the core logs (a rebuilt index, a skipped listener) is for whoever configures
# logging; the CLI and the TUI tell the user themselves, in one line, never twice.
logging.getLogger(__name__).addHandler(logging.NullHandler())
