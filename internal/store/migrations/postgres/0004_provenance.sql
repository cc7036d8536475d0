-- One result model (DESIGN 11): provenance is a typed column that every reader
-- uses, a result served by another engine than the config's own says which,
-- metrics that were not measured are NULL (never 0), and each result carries
-- the summary of the utilization sampled while it ran.

ALTER TABLE results
    ADD COLUMN provenance text NOT NULL DEFAULT 'measured'
        CHECK (provenance IN ('measured', 'predicted', 'imported')),
    ADD COLUMN provenance_tool text NOT NULL DEFAULT '',
    ADD COLUMN provenance_version text NOT NULL DEFAULT '',
    ADD COLUMN engine text NOT NULL DEFAULT '',
    ADD COLUMN utilization json,
    ADD COLUMN ttft_p90_ms double precision,
    ADD COLUMN tpot_p90_ms double precision,
    ADD COLUMN e2e_p50_ms double precision,
    ADD COLUMN gpu_util_mean_pct double precision,
    ADD COLUMN gpu_util_p95_pct double precision,
    ADD COLUMN gpu_mem_peak_bytes double precision,
    ADD COLUMN power_mean_w double precision,
    ADD COLUMN cpu_mean_pct double precision,
    ADD COLUMN rss_peak_bytes double precision,
    ALTER COLUMN ttft_p50_ms DROP NOT NULL,
    ALTER COLUMN ttft_p99_ms DROP NOT NULL,
    ALTER COLUMN tpot_p50_ms DROP NOT NULL,
    ALTER COLUMN tpot_p99_ms DROP NOT NULL,
    ALTER COLUMN itl_p50_ms DROP NOT NULL,
    ALTER COLUMN e2e_p99_ms DROP NOT NULL,
    ALTER COLUMN output_throughput DROP NOT NULL,
    ALTER COLUMN request_throughput DROP NOT NULL,
    ALTER COLUMN goodput DROP NOT NULL;

-- Rows stored before this migration said where they came from in served_by
-- only: the sim engine's "sim (predicted)", an import's "imported from TOOL".
UPDATE results SET provenance = 'predicted', provenance_tool = 'llmsweep-sim'
    WHERE served_by = 'sim' OR served_by LIKE 'sim (%';
UPDATE results SET provenance = 'imported', provenance_tool = substr(served_by, length('imported from ') + 1)
    WHERE served_by LIKE 'imported from %';

CREATE INDEX results_finished ON results (config_key, finished DESC);

-- model_rankings: each model's serving stacks (hardware, framework,
-- quantization) per workload, ranked by their best output throughput among
-- results of the same provenance and engine: a prediction, an import or a
-- result served by another engine never ranks among measured ones.
DROP MATERIALIZED VIEW model_rankings;
CREATE MATERIALIZED VIEW model_rankings AS
SELECT c.model, c.workload, c.hardware, c.framework, c.quantization, re.provenance, re.engine,
    count(*) AS results,
    max(re.output_throughput) AS best_output_throughput,
    max(re.goodput) AS best_goodput,
    min(re.ttft_p99_ms) AS best_ttft_p99_ms,
    min(re.tpot_p50_ms) AS best_tpot_p50_ms,
    avg(re.gpu_util_mean_pct) AS mean_gpu_util_pct,
    max(re.gpu_mem_peak_bytes) AS peak_gpu_mem_bytes,
    avg(re.power_mean_w) AS mean_power_w,
    avg(re.cpu_mean_pct) AS mean_cpu_pct,
    max(re.rss_peak_bytes) AS peak_rss_bytes,
    max(re.finished) AS last_finished,
    rank() OVER (PARTITION BY c.model, c.workload, re.provenance, re.engine
        ORDER BY max(re.output_throughput) DESC NULLS LAST) AS rank
FROM results re JOIN configs c ON c.config_key = re.config_key
GROUP BY c.model, c.workload, c.hardware, c.framework, c.quantization, re.provenance, re.engine;
CREATE UNIQUE INDEX model_rankings_key ON model_rankings (model, workload, hardware, framework, quantization, provenance, engine);

-- daily_stats: per UTC day, serving stack and provenance.
DROP MATERIALIZED VIEW daily_stats;
CREATE MATERIALIZED VIEW daily_stats AS
SELECT (re.finished AT TIME ZONE 'UTC')::date AS day, c.model, c.hardware, c.framework, c.quantization,
    re.provenance, re.engine,
    count(*) AS results,
    sum(re.requests) AS requests,
    sum(re.failed) AS failed_requests,
    avg(re.ttft_p50_ms) AS mean_ttft_p50_ms,
    max(re.ttft_p99_ms) AS max_ttft_p99_ms,
    avg(re.tpot_p50_ms) AS mean_tpot_p50_ms,
    avg(re.output_throughput) AS mean_output_throughput,
    avg(re.gpu_util_mean_pct) AS mean_gpu_util_pct
FROM results re JOIN configs c ON c.config_key = re.config_key
GROUP BY 1, c.model, c.hardware, c.framework, c.quantization, re.provenance, re.engine;
CREATE UNIQUE INDEX daily_stats_key ON daily_stats (day, model, hardware, framework, quantization, provenance, engine);
