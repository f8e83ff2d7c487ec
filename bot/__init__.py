"""Domain core of the 12349 elder-care assistant.

Importable without Rasa or Flask running: database models and sessions, the policy
knowledge base, the eligibility engine, booking, Chinese text normalisation, SMS.
"""
