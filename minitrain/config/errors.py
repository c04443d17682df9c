"""ConfigError: a mistake in a config file or a --set override, told in one line; and
ConfigWarning: a config that runs but, most likely, not as meant."""
import re

from ..naming import did_you_mean

# did_you_mean lives in minitrain.naming; the config's modules take it from here
__all__ = ["ConfigError", "ConfigWarning", "control_character", "did_you_mean", "format_path",
           "set_option"]

_SHOWN_OPTION = 80  # characters of a --set option quoted in a message


class ConfigError(ValueError):
    """A config that cannot run: the message names the file, the key path (or line) and,
    for a misspelt key or name, the closest valid one. The CLI prints it and exits with 2."""

    def __init__(self, message, path=None, source=None, line=None):
        self.message, self.path, self.source, self.line = message, path, source, line
        super().__init__(message)

    def located(self, source, line=None):
        """The same error, told as coming from ``source`` (a file name or a --set option)."""
        return ConfigError(self.message, self.path, source, line if line is not None else
                           self.line)

    def __str__(self):
        where = self.source or "config"
        if self.line is not None:
            where += f", line {self.line}"
        # a key or value quoted from the input may hold a newline: the message stays one line
        return _CONTROL.sub(_escape, f"{where}: {self.message}")


class ConfigWarning(UserWarning):
    """A config that builds and trains, but likely wrongly (a softmax before a loss that
    applies one): ``warnings.warn`` raises it once per build, naming the parts and the fix;
    the CLI prints it as one line, ``warning: ...``. ``path`` is the key path it is about."""

    def __init__(self, message, path=None):
        super().__init__(message)
        self.message, self.path = message, path

    def __str__(self):
        return _CONTROL.sub(_escape, self.message)


# Unicode's control characters (Cc) and the lone surrogates (Cs) a file name cannot encode
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(match):
    return repr(match.group())[1:-1]


def control_character(text):
    """The first control character (or lone surrogate) in ``text``, as an escape, or None:
    such a character in a name or a path is a mistake (a NUL ends a C string)."""
    found = _CONTROL.search(text)
    return None if found is None else _escape(found)


def set_option(text):
    """How a message names the override ``text``: '--set key=value', shortened if long."""
    shown = text if len(text) <= _SHOWN_OPTION else text[:_SHOWN_OPTION - 3] + "..."
    return f"--set {shown}"


def format_path(path):
    """('model', 0, 'Dense') -> 'model[0].Dense'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"
