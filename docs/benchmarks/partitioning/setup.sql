\timing on
DROP TABLE IF EXISTS hh_flat, hh_part CASCADE;
-- 38 provinces, 4,000,000 rows, skewed like Indonesia (a few big provinces).
CREATE TABLE hh_flat AS
SELECT g AS id,
       lpad(((g * 7919) % 38 + 11)::text, 2, '0') || '.' || lpad(((g / 38) % 20 + 1)::text, 2, '0') || '.' || lpad(((g / 760) % 15 + 1)::text, 2, '0') || '.' || lpad(((g / 11400) % 30 + 1001)::text, 4, '0') AS region_id,
       (g % 7) AS atap, (g % 5 = 0) AS tanpa_jamban, md5(g::text) AS alamat
FROM generate_series(1::bigint, 4000000::bigint) g;
ALTER TABLE hh_flat ADD PRIMARY KEY (id);
CREATE INDEX hh_flat_region ON hh_flat (region_id text_pattern_ops);
CREATE TABLE hh_part (LIKE hh_flat) PARTITION BY LIST (left(region_id, 2));
DO $$ DECLARE p text; BEGIN
  FOR p IN SELECT DISTINCT left(region_id, 2) FROM hh_flat LOOP
    EXECUTE format('CREATE TABLE hh_part_%s PARTITION OF hh_part FOR VALUES IN (%L)', p, p);
  END LOOP; END $$;
INSERT INTO hh_part SELECT * FROM hh_flat;
CREATE INDEX hh_part_region ON hh_part (region_id text_pattern_ops);
CREATE INDEX hh_part_id ON hh_part (id);
VACUUM ANALYZE hh_flat; VACUUM ANALYZE hh_part;
SELECT pg_size_pretty(pg_total_relation_size('hh_flat')) flat, (SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits WHERE inhparent='hh_part'::regclass) part;
