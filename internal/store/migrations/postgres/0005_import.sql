-- An imported result keeps what its file says besides the figures (result.Import):
-- the file, the client backend, the offered load, labels, what was missing.
ALTER TABLE results ADD COLUMN import_details json;
