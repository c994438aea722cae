"""Models: the ChatModel seam (`base`), the HTTP adapter for any OpenAI-compatible server
(`http`), and in-process GGUF models (`local`)."""
