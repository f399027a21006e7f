"""Data quality and village sign-off (issue 16): rules as data, flags per village kept
in step with the rollup, outliers among sibling areas, and the verification of a
village's data for a survey round. See docs/quality.md."""
