"""Root fixtures shared by every test package. Package-specific fixtures live in the
conftest.py of tests/unit/<pkg>/ or tests/integration/<area>/."""
