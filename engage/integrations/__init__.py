"""Small adapters around outside services (email, SMS and LLM providers)."""
