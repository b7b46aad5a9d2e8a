"""The run report: statistics, the JSON report, the HTML page, plots, display copies."""
