"""CyberTipline reporting: file a report from a case through NCMEC's reporting API (ISPWS).

:mod:`~clearsight.cybertip.client` speaks ISPWS (httpx, the ``[exchange]`` extra);
:mod:`~clearsight.cybertip.submission` runs a submission from a case, audited step by
step, retracted on failure, resumable when cut off.
"""
