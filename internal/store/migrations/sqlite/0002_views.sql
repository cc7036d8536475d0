-- The tables that stand for PostgreSQL's materialized views (postgres/0003):
-- RefreshViews rebuilds them in one transaction.

CREATE TABLE model_rankings (
    model                  TEXT NOT NULL,
    workload               TEXT NOT NULL,
    hardware               TEXT NOT NULL,
    framework              TEXT NOT NULL,
    quantization           TEXT NOT NULL,
    predicted              INTEGER NOT NULL,
    results                INTEGER NOT NULL,
    best_output_throughput REAL NOT NULL,
    best_goodput           REAL NOT NULL,
    best_ttft_p99_ms       REAL NOT NULL,
    best_tpot_p50_ms       REAL NOT NULL,
    last_finished          INTEGER NOT NULL,
    rank                   INTEGER NOT NULL,
    PRIMARY KEY (model, workload, hardware, framework, quantization, predicted)
);

CREATE TABLE daily_stats (
    day                    TEXT NOT NULL,
    model                  TEXT NOT NULL,
    hardware               TEXT NOT NULL,
    framework              TEXT NOT NULL,
    quantization           TEXT NOT NULL,
    results                INTEGER NOT NULL,
    requests               INTEGER NOT NULL,
    failed_requests        INTEGER NOT NULL,
    mean_ttft_p50_ms       REAL NOT NULL,
    max_ttft_p99_ms        REAL NOT NULL,
    mean_tpot_p50_ms       REAL NOT NULL,
    mean_output_throughput REAL NOT NULL,
    PRIMARY KEY (day, model, hardware, framework, quantization)
);
