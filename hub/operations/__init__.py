"""Operations: mailboxes and queues, dead letters, quarantine and tracing documents."""
