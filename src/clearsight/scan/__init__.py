"""The scan stage: every file of a source fingerprinted and recorded exactly once."""

from clearsight.scan.runner import ScanObserver, ScanOptions, ScanReport, check_sources, run_scan

__all__ = ["ScanObserver", "ScanOptions", "ScanReport", "check_sources", "run_scan"]
