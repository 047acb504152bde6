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
