-- Tables of the reach-dq warehouse that do not depend on the dataset list.
-- The typed dataset tables are created from reach_dq.datasets.

CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id  VARCHAR PRIMARY KEY,
    base_url     VARCHAR NOT NULL,      -- scheme, host, port and path only: never credentials
    partner      VARCHAR,
    command      VARCHAR NOT NULL,      -- validate, golive or nightly
    as_of        DATE NOT NULL,
    first_month  DATE NOT NULL,         -- last day of the first requested month
    last_month   DATE NOT NULL,         -- last day of the last requested month
    spec_title   VARCHAR NOT NULL,
    spec_version VARCHAR NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    status       VARCHAR NOT NULL       -- running, complete, incomplete, failed
);

CREATE TABLE IF NOT EXISTS http_exchanges (
    snapshot_id   VARCHAR NOT NULL,
    exchange_id   BIGINT NOT NULL,
    operation_id  VARCHAR NOT NULL,
    dataset       VARCHAR,
    company_id    VARCHAR,
    method        VARCHAR NOT NULL,
    path          VARCHAR NOT NULL,     -- path and query string; never a token
    basis         VARCHAR,
    budget_id     VARCHAR,
    class_id      VARCHAR,
    department_id VARCHAR,
    page_offset   INTEGER,
    page_limit    INTEGER,
    start_date    DATE,                 -- StartDate sent to a statement or metric-value operation
    end_date      DATE,                 -- EndDate sent likewise
    attempt       INTEGER NOT NULL,
    status_code   INTEGER,              -- NULL when no response arrived
    content_type  VARCHAR,
    latency_ms    DOUBLE,
    bytes         BIGINT,
    error         VARCHAR,              -- transport error or invalid body, when there was one
    started_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (snapshot_id, exchange_id)
);

CREATE TABLE IF NOT EXISTS raw_responses (
    snapshot_id VARCHAR NOT NULL,
    exchange_id BIGINT NOT NULL,
    body        VARCHAR NOT NULL,       -- the response body as received, decoded as UTF-8
    PRIMARY KEY (snapshot_id, exchange_id)
);

CREATE TABLE IF NOT EXISTS findings (
    snapshot_id   VARCHAR NOT NULL,
    finding_id    INTEGER NOT NULL,
    check_name    VARCHAR NOT NULL,
    category      VARCHAR NOT NULL,
    dataset       VARCHAR NOT NULL,
    company_id    VARCHAR,
    outcome       VARCHAR NOT NULL,
    message       VARCHAR NOT NULL,
    failure_count BIGINT NOT NULL,
    failure_cases JSON NOT NULL,
    PRIMARY KEY (snapshot_id, finding_id)
);

-- Migration: the go-live probe that sent an exchange; NULL for the snapshot's own fetch.
-- Probe requests are wrong on purpose (no token, unknown company, limit=0), so queries about
-- the fetch keep to `probe IS NULL`.
ALTER TABLE http_exchanges ADD COLUMN IF NOT EXISTS probe VARCHAR;

-- Access-token renewals during a run that obtains its own tokens (reach-dq golive --client-id).
CREATE TABLE IF NOT EXISTS token_renewals (
    snapshot_id VARCHAR NOT NULL,
    stage       VARCHAR NOT NULL,       -- fetch or probe
    renewal_id  INTEGER NOT NULL,
    reason      VARCHAR NOT NULL,       -- expired (expires_in passed) or rejected (401 on a token that worked)
    succeeded   BOOLEAN NOT NULL,
    message     VARCHAR NOT NULL,       -- never a token
    renewed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (snapshot_id, stage, renewal_id)
);

-- Nightly alerting: the problems already alerted per partner, so a rerun never resends them.
CREATE TABLE IF NOT EXISTS alert_state (
    partner     VARCHAR NOT NULL,
    check_name  VARCHAR NOT NULL,
    dataset     VARCHAR NOT NULL,
    company_id  VARCHAR NOT NULL,       -- '' when the finding covers no single company
    outcome     VARCHAR NOT NULL,       -- failed or warning
    snapshot_id VARCHAR NOT NULL,       -- the run that first reported the problem
    since       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (partner, check_name, dataset, company_id)
);

-- Every alert and recovery notice the nightly job decided to send, with its delivery result.
CREATE TABLE IF NOT EXISTS alerts (
    snapshot_id VARCHAR NOT NULL,
    alert_id    INTEGER NOT NULL,
    partner     VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,       -- problem or recovery
    check_name  VARCHAR NOT NULL,
    dataset     VARCHAR NOT NULL,
    company_id  VARCHAR NOT NULL,
    outcome     VARCHAR NOT NULL,       -- the outcome of this run: failed, warning or passed
    text        VARCHAR NOT NULL,       -- the message sent, secrets removed
    created_at  TIMESTAMPTZ NOT NULL,
    deliveries  JSON NOT NULL,          -- [{"target": name, "delivered": bool, "error": str|null}]
    PRIMARY KEY (snapshot_id, alert_id)
);

-- Requests of the fetch that failed for good, with the reason: after their last attempt, on a
-- status that a retry cannot heal, or on an unusable body or broken pagination.
CREATE TABLE IF NOT EXISTS failed_operations (
    snapshot_id  VARCHAR NOT NULL,
    operation_id VARCHAR NOT NULL,
    dataset      VARCHAR,
    company_id   VARCHAR,
    method       VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,      -- path and query string, without offset and limit
    error        VARCHAR NOT NULL,      -- what went wrong; the token is replaced by [token]
    failed_at    TIMESTAMPTZ NOT NULL
);

-- The companies a run was asked to check (--company), NULL when it checked every company that
-- user info lists. Added after the first release, so older warehouse files gain it here.
ALTER TABLE snapshots ADD COLUMN IF NOT EXISTS requested_companies VARCHAR[];
