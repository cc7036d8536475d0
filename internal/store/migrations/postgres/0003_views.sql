-- Views for dashboards and reports, refreshed by the pipeline's refresh-views
-- step (REFRESH ... CONCURRENTLY, which needs the unique indexes, so readers
-- are never blocked). Results of the emulated engine (served_by "sim ...") are
-- predicted, not measured: they are ranked apart from measured ones.

-- model_rankings: each model's serving stacks (hardware, framework,
-- quantization) per workload, ranked by their best output throughput.
CREATE MATERIALIZED VIEW model_rankings AS
SELECT c.model, c.workload, c.hardware, c.framework, c.quantization,
    (re.served_by LIKE 'sim%') AS predicted,
    count(*) AS results,
    max(re.output_throughput) AS best_output_throughput,
    max(re.goodput) AS best_goodput,
    min(re.ttft_p99_ms) AS best_ttft_p99_ms,
    min(re.tpot_p50_ms) AS best_tpot_p50_ms,
    max(re.finished) AS last_finished,
    rank() OVER (PARTITION BY c.model, c.workload, (re.served_by LIKE 'sim%')
        ORDER BY max(re.output_throughput) DESC) AS rank
FROM results re JOIN configs c ON c.config_key = re.config_key
GROUP BY c.model, c.workload, c.hardware, c.framework, c.quantization, (re.served_by LIKE 'sim%');
CREATE UNIQUE INDEX model_rankings_key ON model_rankings (model, workload, hardware, framework, quantization, predicted);

-- daily_stats: per UTC day and serving stack, how much was measured and how it did.
CREATE MATERIALIZED VIEW daily_stats AS
SELECT (re.finished AT TIME ZONE 'UTC')::date AS day, c.model, c.hardware, c.framework, c.quantization,
    count(*) AS results,
    sum(re.requests) AS requests,
    sum(re.failed) AS failed_requests,
    avg(re.ttft_p50_ms) AS mean_ttft_p50_ms,
    max(re.ttft_p99_ms) AS max_ttft_p99_ms,
    avg(re.tpot_p50_ms) AS mean_tpot_p50_ms,
    avg(re.output_throughput) AS mean_output_throughput
FROM results re JOIN configs c ON c.config_key = re.config_key
GROUP BY 1, c.model, c.hardware, c.framework, c.quantization;
CREATE UNIQUE INDEX daily_stats_key ON daily_stats (day, model, hardware, framework, quantization);
