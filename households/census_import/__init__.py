"""Census import: read a file, validate its rows, stage them with COPY, upsert in one
transaction (`service.census_import`), in the request or as a background job (`jobs`)."""
