"""The one exception type for bad user input.

Front ends show its message as is (one line, no traceback), so every message names the input
(file or parameter) and says what is wrong with it.
"""


class InputError(ValueError):
    """A user-supplied file, folder or parameter cannot be used; the message says which and why."""
