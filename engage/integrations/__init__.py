"""Small adapters around outside services (email and SMS providers, LLM chat completions)."""
