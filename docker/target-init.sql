-- The target database's least-privilege role for sluice (README, "PostgreSQL
-- role"). Runs once, when the target-db container initialises its data directory.
CREATE ROLE sluice LOGIN PASSWORD 'sluice';
GRANT CONNECT, TEMPORARY ON DATABASE replica TO sluice;
-- CREATE: schema.evolution = basic creates tables and the offsets table.
GRANT USAGE, CREATE ON SCHEMA public TO sluice;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO sluice;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO sluice;
