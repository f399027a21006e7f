"""Field collection with ODK Collect / ODK Central and KoboToolbox.

- `xlsform`: the census and the follow-up visit as XLSForms, generated from the field
  catalogue (`households.schema`) and the codebook, never kept by hand;
- `submissions`: the export formats of ODK Central (CSV zip) and KoboToolbox (XLSX, CSV)
  read into submissions;
- `service`: submissions into the census importer (dry run, row errors naming the
  submission and field, all-or-nothing, idempotent by instance ID, review states), and
  follow-up visits into households with the optimistic lock;
- `entities`: an area's households as an ODK Entity list;
- `jobs`: the import job runner and the optional pull from ODK Central (pyodk).
"""
