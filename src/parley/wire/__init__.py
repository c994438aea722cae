"""Wire formats: each translates a client's request into the engine's and the engine's
events and outcome back into that format's responses and streams. `chat` is Chat
Completions; `sse` frames server-sent events in both directions."""
