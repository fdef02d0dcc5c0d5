"""The project's own error for bad input or options. A leaf module: it imports nothing.

The CLI turns an InputError (and only that) into `error: <message>` and exit status 2; anything else is a bug or an
environment failure and keeps its traceback. Subclasses say where: a file and line, a field, an option.
"""


class InputError(ValueError):
    """Bad input data, options or configuration; the message names what and where."""
