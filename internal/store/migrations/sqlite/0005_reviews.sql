-- The manual-review queue: a config that failed every retry in a run waits
-- here for a person (llmsweep failures). state is open (not looked at), acked
-- (looked at, with a note), retry (to be measured by the next run, whatever the
-- reuse policy says), retried (a later run measured it and it failed again),
-- or resolved (a result of the config was stored after all).
CREATE TABLE reviews (
    run_key    INTEGER NOT NULL REFERENCES runs (run_key),
    config_key INTEGER NOT NULL REFERENCES configs (config_key),
    state      TEXT NOT NULL CHECK (state IN ('open', 'acked', 'retry', 'retried', 'resolved')),
    note       TEXT NOT NULL DEFAULT '',
    updated    INTEGER NOT NULL,
    PRIMARY KEY (run_key, config_key)
);
CREATE INDEX reviews_config ON reviews (config_key, state);

-- The failures stored before the queue existed join it open.
INSERT INTO reviews (run_key, config_key, state, updated)
SELECT f.run_key, f.config_key, 'open', max(f.at) FROM failures f
WHERE f.final AND NOT EXISTS (SELECT 1 FROM results re WHERE re.run_key = f.run_key AND re.config_key = f.config_key)
GROUP BY f.run_key, f.config_key;
