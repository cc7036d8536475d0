-- Per-request and utilization rows, partitioned by their run's start time into
-- monthly partitions that the store creates on demand, and a DEFAULT partition
-- that catches anything else. No foreign keys: a per-row trigger would halve
-- COPY throughput, and the store writes the parent rows first.

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
) PARTITION BY RANGE (run_started);
CREATE TABLE requests_default PARTITION OF requests DEFAULT;

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
) PARTITION BY RANGE (run_started);
CREATE TABLE utilization_default PARTITION OF utilization DEFAULT;

-- llmsweep_month_partition creates parent's partition for the UTC month of t,
-- next to parent, unless it exists. DDL takes no parameters, so the names are
-- quoted here with format's %I and %L rather than pasted together in Go.
CREATE FUNCTION llmsweep_month_partition(parent regclass, t timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lo   timestamptz := date_trunc('month', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    nsp  text;
    rel  text;
    part text;
BEGIN
    SELECT n.nspname, c.relname INTO nsp, rel
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = parent;
    part := rel || '_' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM');
    IF to_regclass(format('%I.%I', nsp, part)) IS NOT NULL THEN
        RETURN;
    END IF;
    -- Serialise creators of this partition; the loser finds it made.
    PERFORM pg_advisory_xact_lock(hashtext(nsp || '.' || part));
    IF to_regclass(format('%I.%I', nsp, part)) IS NOT NULL THEN
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
                       nsp, part, nsp, rel, lo, lo + interval '1 month');
    EXCEPTION WHEN check_violation THEN
        -- The DEFAULT partition already holds rows of this month: they stay
        -- there, and so do the month's later rows. Nothing is lost.
        NULL;
    END;
END
$$;
