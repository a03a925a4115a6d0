"""One router per resource: questions, funds, documents, operations."""
