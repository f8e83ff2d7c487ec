"""The district's registry: elders, providers, services and capacity, brought in from the
district's files (CSV or XLSX) and kept in the service database.

- `crypto`: full ID numbers are stored encrypted, found by a keyed hash;
- `validate`: the row checks shared by the imports and the console forms;
- `elders`: `flask --app server registry import-elders FILE`;
- `providers`: `flask --app server registry import-providers FILE` and capacity windows.
"""
