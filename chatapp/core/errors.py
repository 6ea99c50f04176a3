"""The one family of errors a user can act on.

    ChatappError                 str(error) is one line, shown as it is
    ├── ConfigError              config.toml:LINE: what is wrong
    ├── BackendError             a model or server failed (backends/base.py has the kinds)
    ├── StoreError               chat data could not be read or written (store/errors.py)
    └── SessionError             a request the conversation cannot take now
        ├── ReplyInProgress      a reply is still being generated
        ├── NothingToRegenerate  no user message to answer again
        ├── UnknownMessage       no such message in this conversation
        ├── NotEditable          only the user's own messages can be edited
        └── EmptyMessage         a message that shows nothing is not sent

The UI and the CLI catch ChatappError where they mean "show this to the user"; anything
else is a bug and is allowed to surface as one.
"""

from __future__ import annotations


class ChatappError(Exception):
    """A failure the user can act on; str(error) is one line for the screen."""


class ConfigError(ChatappError):
    """A bad config file or option; str() is one line: file:line: problem."""


class BackendError(ChatappError):
    """A model or server failed."""


class StoreError(ChatappError):
    """Something went wrong reading or writing chat data."""


class SessionError(ChatappError):
    """The conversation cannot do what was asked right now."""


class ReplyInProgress(SessionError):
    def __init__(self) -> None:
        super().__init__("a reply is still being generated; stop it first")


class NothingToRegenerate(SessionError):
    def __init__(self) -> None:
        super().__init__("nothing to regenerate: the conversation has no user message")


class UnknownMessage(SessionError):
    def __init__(self, message_id: str) -> None:
        super().__init__(f"message {message_id} is not in this conversation")
        self.message_id = message_id


class NotEditable(SessionError):
    def __init__(self, why: str = "only your own messages can be edited") -> None:
        super().__init__(why)


class EmptyMessage(SessionError):
    def __init__(self) -> None:
        super().__init__("nothing to send: the message is empty or only invisible characters")
