"""The review services on the case database: accounts, login sessions, the audit log,
settings, preferences, assignments, the exposure meter, decisions and item facts.

They hold every statement the review server needs; :mod:`clearsight.review` names them
in the review layer, and ``SqlCaseStore`` builds them on its (private) engine.
"""
