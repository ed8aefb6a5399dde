"""Intake: every envelope an agency publishes is checked, recorded once and routed, or refused."""
