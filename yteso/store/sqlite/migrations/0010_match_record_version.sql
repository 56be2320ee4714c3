-- The Patient version a match record was derived from (docs/mpi.md, "Match records"): the
-- rebuild before a batch link re-derives only records whose version is not the Patient's
-- current one. NULL (records written before this column): unknown, so rebuilt once.
ALTER TABLE match_record ADD COLUMN version INTEGER;
