"""Small adapters around outside services (e-mail, SMS, LLM providers)."""
