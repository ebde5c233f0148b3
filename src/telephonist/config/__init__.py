"""Configuration files (Rasa-compatible credentials.yml / endpoints.yml), validated at start-up."""
