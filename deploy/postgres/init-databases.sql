-- Runs once, when the PostgreSQL data volume is first initialised
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
-- One database per service; each service creates its own tables with its migrations.
CREATE DATABASE portfolio;
CREATE DATABASE scheduling;
CREATE DATABASE notifications;
