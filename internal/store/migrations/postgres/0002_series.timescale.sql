-- Per-request and utilization rows as TimescaleDB hypertables, chunked by their
-- run's start time. Chosen instead of 0002_series.native.sql where the
-- timescaledb extension could be created. Compression and retention depend on
-- the server's edition (the Apache-2 build has neither compression nor
-- policies): the store tries them after this migration and records what it
-- chose in store_features (see timescale.go).
-- No foreign keys: a per-row trigger would halve COPY throughput, and the store
-- writes the parent rows first.

CREATE TABLE requests (
    run_key              integer NOT NULL,
    config_key           bigint NOT NULL,
    attempt              integer NOT NULL,
    idx                  integer NOT NULL,
    run_started          timestamptz NOT NULL,
    scheduled_ns         bigint NOT NULL,
    start_ns             bigint NOT NULL,
    first_token_ns       bigint NOT NULL,
    end_ns               bigint NOT NULL,
    itl_ns               bigint[],
    prompt_tokens        integer NOT NULL,
    output_tokens        integer NOT NULL,
    client_prompt_tokens integer NOT NULL,
    client_output_tokens integer NOT NULL,
    status               integer NOT NULL,
    error_class          text,
    error                text,
    finish_reason        text,
    output               text,
    expected             text,
    UNIQUE (run_key, config_key, attempt, idx, run_started)
);
SELECT create_hypertable('requests', 'run_started', chunk_time_interval => INTERVAL '7 days');

CREATE TABLE utilization (
    run_key         integer NOT NULL,
    config_key      bigint NOT NULL,
    run_started     timestamptz NOT NULL,
    time_ns         bigint NOT NULL,
    source          text NOT NULL,
    device          text NOT NULL,
    gpu_util_pct    double precision NOT NULL,
    mem_util_pct    double precision NOT NULL,
    mem_used_bytes  bigint NOT NULL,
    mem_total_bytes bigint NOT NULL,
    power_w         double precision NOT NULL,
    cpu_pct         double precision NOT NULL,
    rss_bytes       bigint NOT NULL,
    UNIQUE (run_key, config_key, source, device, time_ns, run_started)
);
SELECT create_hypertable('utilization', 'run_started', chunk_time_interval => INTERVAL '7 days');

-- What the store chose for this server's TimescaleDB edition, one row a
-- feature, written once when the hypertables are made (llmsweep store info).
CREATE TABLE store_features (
    feature text PRIMARY KEY,
    choice  text NOT NULL,
    detail  text NOT NULL,
    decided timestamptz NOT NULL DEFAULT now()
);
