"""Linked accounts and each person's own data: link, unlink, whoami, mydata, forget."""
