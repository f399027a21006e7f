"""Reports out of the portal: named-record rows (`rows`), CSV straight from SQL (`csv_sql`),
streamed XLSX (`xlsx`), the village profile PDF (`pdf`), workbooks and templates
(`service`) and background export jobs (`jobs`)."""
