"""ConfigError: a mistake in a config file or a --set override, told in one line."""
from ..naming import did_you_mean

# did_you_mean lives in minitrain.naming; the config's modules take it from here
__all__ = ["ConfigError", "did_you_mean", "format_path"]


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
        return f"{where}: {self.message}"


def format_path(path):
    """('model', 0, 'Dense') -> 'model[0].Dense'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"
