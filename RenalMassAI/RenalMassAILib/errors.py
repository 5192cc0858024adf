"""The one exception type for bad user input.

Front ends show its message as is (one line, no traceback), so every message names the input
(file or parameter) and says what is wrong with it. `field` names the input in the engine's own
terms (e.g. "center", "segmentation", "phases"), so that each front end can say it in its words
(a command-line flag, a widget label) instead of the engine's.
"""


class InputError(ValueError):
    """A user-supplied file, folder or parameter cannot be used; the message says which and why."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field

    def __reduce__(self):
        # Keeps `field` when the error crosses a process boundary (workers pickle their exceptions).
        return type(self), (str(self), self.field)
