"""The district's registry: elders, providers, services and capacity, brought in from the
district's files (CSV or XLSX) and kept in the service database.

- `crypto`: full ID numbers are stored encrypted, found by a keyed hash;
- `validate`: the row checks shared by the imports and the console forms;
- `elders`: `flask --app server registry import-elders FILE`;
- `files`: what the services, providers and closures imports share (report, cells, run);
- `services`: `flask --app server registry import-services FILE` (the catalogue, prices);
- `providers`: `flask --app server registry import-providers FILE` (weekly templates);
- `capacity`: closures (`import-closures FILE`) and the windows (`registry capacity`).
"""
