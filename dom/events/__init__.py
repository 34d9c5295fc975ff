"""Domain events: the transactional outbox, the cursor clients read it by, and webhooks."""
