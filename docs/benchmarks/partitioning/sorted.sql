\timing on
DROP TABLE IF EXISTS hh_sorted;
CREATE TABLE hh_sorted AS SELECT * FROM hh_flat ORDER BY region_id, id;
ALTER TABLE hh_sorted ADD PRIMARY KEY (id);
CREATE INDEX hh_sorted_region ON hh_sorted (region_id text_pattern_ops);
VACUUM ANALYZE hh_sorted;
