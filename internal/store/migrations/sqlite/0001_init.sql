-- Times are INTEGER unix microseconds (UTC), as PostgreSQL keeps them. The
-- natural keys (run ID, fingerprint) are the primary keys; the integer
-- surrogates, assigned by the store as max+1 under the write lock, keep the
-- per-request tables narrow.

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    run_key     INTEGER NOT NULL UNIQUE,
    campaign    TEXT NOT NULL,
    matrix_hash TEXT NOT NULL,
    configs     INTEGER NOT NULL,
    engine      TEXT NOT NULL DEFAULT '',
    started     INTEGER NOT NULL,
    finished    INTEGER
);
CREATE INDEX runs_unfinished ON runs (campaign, matrix_hash, started DESC) WHERE finished IS NULL;
CREATE INDEX runs_campaign ON runs (campaign);

CREATE TABLE configs (
    fingerprint  TEXT PRIMARY KEY,
    config_key   INTEGER NOT NULL UNIQUE,
    resolved     TEXT,
    model        TEXT NOT NULL DEFAULT '',
    hardware     TEXT NOT NULL DEFAULT '',
    framework    TEXT NOT NULL DEFAULT '',
    quantization TEXT NOT NULL DEFAULT '',
    workload     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX configs_dims ON configs (model, framework, hardware, quantization, workload);

CREATE TABLE results (
    run_key            INTEGER NOT NULL REFERENCES runs (run_key),
    config_key         INTEGER NOT NULL REFERENCES configs (config_key),
    attempts           INTEGER NOT NULL,
    summary            TEXT NOT NULL,
    accuracy_json      TEXT,
    served_by          TEXT NOT NULL DEFAULT '',
    finished           INTEGER NOT NULL,
    requests           INTEGER NOT NULL,
    succeeded          INTEGER NOT NULL,
    failed             INTEGER NOT NULL,
    ttft_p50_ms        REAL NOT NULL,
    ttft_p99_ms        REAL NOT NULL,
    tpot_p50_ms        REAL NOT NULL,
    tpot_p99_ms        REAL NOT NULL,
    itl_p50_ms         REAL NOT NULL,
    e2e_p99_ms         REAL NOT NULL,
    output_throughput  REAL NOT NULL,
    request_throughput REAL NOT NULL,
    goodput            REAL NOT NULL,
    accuracy           REAL,
    PRIMARY KEY (run_key, config_key)
);
CREATE INDEX results_config ON results (config_key);

-- (attempt, final) and not attempt alone: a config's final failure repeats the
-- number of its last failed attempt.
CREATE TABLE failures (
    run_key    INTEGER NOT NULL REFERENCES runs (run_key),
    config_key INTEGER NOT NULL REFERENCES configs (config_key),
    attempt    INTEGER NOT NULL,
    final      INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (run_key, config_key, attempt, final)
);

CREATE TABLE checkpoints (
    run_key     INTEGER PRIMARY KEY REFERENCES runs (run_key),
    done        INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    current_fp  TEXT NOT NULL,
    interrupted INTEGER NOT NULL,
    at          INTEGER NOT NULL
);

-- Clustered on the key, in which order records arrive. itl_ns is zigzag
-- varints. No foreign keys, as on PostgreSQL: the store writes parents first.
CREATE TABLE requests (
    run_key              INTEGER NOT NULL,
    config_key           INTEGER NOT NULL,
    attempt              INTEGER NOT NULL,
    idx                  INTEGER NOT NULL,
    scheduled_ns         INTEGER NOT NULL,
    start_ns             INTEGER NOT NULL,
    first_token_ns       INTEGER NOT NULL,
    end_ns               INTEGER NOT NULL,
    itl_ns               BLOB,
    prompt_tokens        INTEGER NOT NULL,
    output_tokens        INTEGER NOT NULL,
    client_prompt_tokens INTEGER NOT NULL,
    client_output_tokens INTEGER NOT NULL,
    status               INTEGER NOT NULL,
    error_class          TEXT,
    error                TEXT,
    finish_reason        TEXT,
    output               TEXT,
    expected             TEXT,
    PRIMARY KEY (run_key, config_key, attempt, idx)
) WITHOUT ROWID;

CREATE TABLE utilization (
    run_key         INTEGER NOT NULL,
    config_key      INTEGER NOT NULL,
    time_ns         INTEGER NOT NULL,
    source          TEXT NOT NULL,
    device          TEXT NOT NULL,
    gpu_util_pct    REAL NOT NULL,
    mem_util_pct    REAL NOT NULL,
    mem_used_bytes  INTEGER NOT NULL,
    mem_total_bytes INTEGER NOT NULL,
    power_w         REAL NOT NULL,
    cpu_pct         REAL NOT NULL,
    rss_bytes       INTEGER NOT NULL,
    PRIMARY KEY (run_key, config_key, source, device, time_ns)
) WITHOUT ROWID;
