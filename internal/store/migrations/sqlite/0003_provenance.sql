-- One result model (DESIGN 11), as postgres/0004_provenance.sql: provenance is
-- a typed column, a result served by another engine says which, metrics that
-- were not measured are NULL, and utilization is summarized per result.
-- SQLite cannot drop NOT NULL in place: the table is rebuilt.

CREATE TABLE results_new (
    run_key            INTEGER NOT NULL REFERENCES runs (run_key),
    config_key         INTEGER NOT NULL REFERENCES configs (config_key),
    attempts           INTEGER NOT NULL,
    summary            TEXT NOT NULL,
    accuracy_json      TEXT,
    served_by          TEXT NOT NULL DEFAULT '',
    finished           INTEGER NOT NULL,
    provenance         TEXT NOT NULL DEFAULT 'measured'
        CHECK (provenance IN ('measured', 'predicted', 'imported')),
    provenance_tool    TEXT NOT NULL DEFAULT '',
    provenance_version TEXT NOT NULL DEFAULT '',
    engine             TEXT NOT NULL DEFAULT '',
    utilization        TEXT,
    requests           INTEGER NOT NULL,
    succeeded          INTEGER NOT NULL,
    failed             INTEGER NOT NULL,
    ttft_p50_ms        REAL,
    ttft_p90_ms        REAL,
    ttft_p99_ms        REAL,
    tpot_p50_ms        REAL,
    tpot_p90_ms        REAL,
    tpot_p99_ms        REAL,
    itl_p50_ms         REAL,
    e2e_p50_ms         REAL,
    e2e_p99_ms         REAL,
    output_throughput  REAL,
    request_throughput REAL,
    goodput            REAL,
    accuracy           REAL,
    gpu_util_mean_pct  REAL,
    gpu_util_p95_pct   REAL,
    gpu_mem_peak_bytes REAL,
    power_mean_w       REAL,
    cpu_mean_pct       REAL,
    rss_peak_bytes     REAL,
    PRIMARY KEY (run_key, config_key)
);
INSERT INTO results_new (run_key, config_key, attempts, summary, accuracy_json, served_by, finished,
    provenance, provenance_tool, requests, succeeded, failed, ttft_p50_ms, ttft_p99_ms, tpot_p50_ms, tpot_p99_ms,
    itl_p50_ms, e2e_p99_ms, output_throughput, request_throughput, goodput, accuracy)
SELECT run_key, config_key, attempts, summary, accuracy_json, served_by, finished,
    CASE WHEN served_by = 'sim' OR served_by LIKE 'sim (%' THEN 'predicted'
         WHEN served_by LIKE 'imported from %' THEN 'imported' ELSE 'measured' END,
    CASE WHEN served_by = 'sim' OR served_by LIKE 'sim (%' THEN 'llmsweep-sim'
         WHEN served_by LIKE 'imported from %' THEN substr(served_by, length('imported from ') + 1) ELSE '' END,
    requests, succeeded, failed, ttft_p50_ms, ttft_p99_ms, tpot_p50_ms, tpot_p99_ms,
    itl_p50_ms, e2e_p99_ms, output_throughput, request_throughput, goodput, accuracy
FROM results;
DROP TABLE results;
ALTER TABLE results_new RENAME TO results;
CREATE INDEX results_config ON results (config_key);
CREATE INDEX results_finished ON results (config_key, finished DESC);

DROP TABLE model_rankings;
CREATE TABLE model_rankings (
    model                  TEXT NOT NULL,
    workload               TEXT NOT NULL,
    hardware               TEXT NOT NULL,
    framework              TEXT NOT NULL,
    quantization           TEXT NOT NULL,
    provenance             TEXT NOT NULL,
    engine                 TEXT NOT NULL,
    results                INTEGER NOT NULL,
    best_output_throughput REAL,
    best_goodput           REAL,
    best_ttft_p99_ms       REAL,
    best_tpot_p50_ms       REAL,
    mean_gpu_util_pct      REAL,
    peak_gpu_mem_bytes     REAL,
    mean_power_w           REAL,
    mean_cpu_pct           REAL,
    peak_rss_bytes         REAL,
    last_finished          INTEGER NOT NULL,
    rank                   INTEGER NOT NULL,
    PRIMARY KEY (model, workload, hardware, framework, quantization, provenance, engine)
);

DROP TABLE daily_stats;
CREATE TABLE daily_stats (
    day                    TEXT NOT NULL,
    model                  TEXT NOT NULL,
    hardware               TEXT NOT NULL,
    framework              TEXT NOT NULL,
    quantization           TEXT NOT NULL,
    provenance             TEXT NOT NULL,
    engine                 TEXT NOT NULL,
    results                INTEGER NOT NULL,
    requests               INTEGER NOT NULL,
    failed_requests        INTEGER NOT NULL,
    mean_ttft_p50_ms       REAL,
    max_ttft_p99_ms        REAL,
    mean_tpot_p50_ms       REAL,
    mean_output_throughput REAL,
    mean_gpu_util_pct      REAL,
    PRIMARY KEY (day, model, hardware, framework, quantization, provenance, engine)
);
