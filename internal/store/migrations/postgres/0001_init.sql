-- The natural keys (run ID, fingerprint) are the primary keys; the integer
-- surrogates keep the per-request tables narrow (45 to 225 million rows a sweep).

CREATE TABLE runs (
    id          text PRIMARY KEY,
    run_key     integer GENERATED ALWAYS AS IDENTITY UNIQUE,
    campaign    text NOT NULL,
    matrix_hash text NOT NULL,
    configs     integer NOT NULL,
    engine      text NOT NULL DEFAULT '',
    started     timestamptz NOT NULL,
    finished    timestamptz
);
CREATE INDEX runs_unfinished ON runs (campaign, matrix_hash, started DESC) WHERE finished IS NULL;
CREATE INDEX runs_campaign ON runs (campaign);

CREATE TABLE configs (
    fingerprint  text PRIMARY KEY,
    config_key   bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    -- json, not jsonb: the exact bytes, whose sha256 is the fingerprint.
    resolved     json,
    -- Copied from resolved, for filters.
    model        text NOT NULL DEFAULT '',
    hardware     text NOT NULL DEFAULT '',
    framework    text NOT NULL DEFAULT '',
    quantization text NOT NULL DEFAULT '',
    workload     text NOT NULL DEFAULT ''
);
CREATE INDEX configs_dims ON configs (model, framework, hardware, quantization, workload);

CREATE TABLE results (
    run_key            integer NOT NULL REFERENCES runs (run_key),
    config_key         bigint NOT NULL REFERENCES configs (config_key),
    attempts           integer NOT NULL,
    summary            json NOT NULL,
    accuracy_json      json,
    served_by          text NOT NULL DEFAULT '',
    finished           timestamptz NOT NULL,
    -- The main metrics, copied from summary and accuracy_json.
    requests           integer NOT NULL,
    succeeded          integer NOT NULL,
    failed             integer NOT NULL,
    ttft_p50_ms        double precision NOT NULL,
    ttft_p99_ms        double precision NOT NULL,
    tpot_p50_ms        double precision NOT NULL,
    tpot_p99_ms        double precision NOT NULL,
    itl_p50_ms         double precision NOT NULL,
    e2e_p99_ms         double precision NOT NULL,
    output_throughput  double precision NOT NULL,
    request_throughput double precision NOT NULL,
    goodput            double precision NOT NULL,
    accuracy           double precision,
    PRIMARY KEY (run_key, config_key)
);
CREATE INDEX results_config ON results (config_key);

-- (attempt, final) and not attempt alone: a config's final failure repeats the
-- number of its last failed attempt.
CREATE TABLE failures (
    run_key    integer NOT NULL REFERENCES runs (run_key),
    config_key bigint NOT NULL REFERENCES configs (config_key),
    attempt    integer NOT NULL,
    final      boolean NOT NULL,
    reason     text NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (run_key, config_key, attempt, final)
);

CREATE TABLE checkpoints (
    run_key     integer PRIMARY KEY REFERENCES runs (run_key),
    done        integer NOT NULL,
    failed      integer NOT NULL,
    current_fp  text NOT NULL,
    interrupted boolean NOT NULL,
    at          timestamptz NOT NULL
);
