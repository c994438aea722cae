"""`local/<name>`: GGUF models run in-process by llama.cpp (the `local` extra).

`model` is the ChatModel; `batch` schedules and decodes sequences together; `sampling`
picks each next token; `grammar` and `jsontrack` keep constrained JSON valid; `prompt`
renders a conversation; `files` finds the bundled and configured model files.
"""

from parley.models.local.model import LocalChatModel, local_model

__all__ = ["LocalChatModel", "local_model"]
