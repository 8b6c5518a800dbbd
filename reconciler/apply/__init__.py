"""Executing a Plan through a Backend, following the runs it launched, and interruption."""
