"""Exchanges: feeds that keep a bank in sync, through python-threatexchange.

:mod:`~clearsight.banks.exchange_book` keeps each exchange's settings and fetch state in
the bank store, :mod:`~clearsight.exchanges.credentials` its secrets (never in the
store), :mod:`~clearsight.exchanges.apis` is the boundary with the library (imported
only by a fetch: the library is the ``[exchange]`` extra), :mod:`~clearsight.exchanges.translate`
turns its records into bank entries, and :mod:`~clearsight.exchanges.fetch` runs one
resumable fetch. A shell calls :func:`clearsight.exchanges.fetch.fetch_exchange`, or
:meth:`clearsight.case.banks.CaseBanks.fetch_exchange` through the core object.
"""
